/**
 * The directory of file mode's AuthorizedKeysFiles (KEYS_FILE_DIR): checked the way sshd's
 * StrictModes checks it, read, and changed one atomic file at a time.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import { isManagedNameSyntax } from '../sync/names';
import { KEY_DIR_MODE, KEY_FILE_MODE } from './file-mode';
import { errnoText, isMissing } from '../util/errno';
import { directoryNames, readRegularFile } from '../util/regular-file';

/** A file of ours holds a few keys; anything far larger was not written by us. */
const MAX_FILE_BYTES = 1 << 20;

/**
 * Creates the directory (0755, root-owned) when missing, then checks it and every directory
 * above it: sshd ignores a file under a directory that is not root-owned or is writable by
 * group or others, and such a directory would let someone else plant keys. Returns the problem.
 */
export function prepareKeysDir(dir: string): string | null {
  try {
    // sshd reads the file as the user logging in: what we create must be traversable whatever the umask.
    const first = mkdirSync(dir, { recursive: true, mode: KEY_DIR_MODE });
    if (first !== undefined) {
      for (let d = dir; d.length >= first.length; d = dirname(d)) chmodSync(d, KEY_DIR_MODE);
    }
  } catch (e) {
    return `cannot create ${dir}: ${errnoText(e)}`;
  }
  for (let d = dir; ; d = dirname(d)) {
    const st = lstatSync(d);
    if (!st.isDirectory()) return `${d} is not a directory`;
    if (st.uid !== 0) return `${d} is not owned by root`;
    if (st.mode & 0o022) return `${d} is writable by group or others`;
    if (d === dirname(d)) return null;
  }
}

/** Content of the regular files whose names are local user names; other entries are not ours. */
export function readKeyFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of directoryNames(dir)) {
    if (!isManagedNameSyntax(name)) continue;
    // A symlink, a FIFO or an oversized file is not one of ours: listed with no content, so
    // that it is replaced (for a managed user) and never followed.
    out.set(name, readRegularFile(join(dir, name), MAX_FILE_BYTES)?.text ?? '');
  }
  return out;
}

export function writeKeyFile(dir: string, user: string, content: string): void {
  if (!isManagedNameSyntax(user)) throw new Error(`not a local user name: ${user}`);
  writeFileAtomic(join(dir, user), content, KEY_FILE_MODE);
}

export function removeKeyFile(dir: string, user: string): void {
  if (!isManagedNameSyntax(user)) throw new Error(`not a local user name: ${user}`);
  try { unlinkSync(join(dir, user)); } catch (e) { if (!isMissing(e)) throw e; }
}
