/**
 * Reads a file that someone else may have planted something at: only a regular file, opened
 * without following a symlink at its name and without blocking (a FIFO), of bounded size.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';

/** The files iam-ssh reads this way hold a few keys, a member list or a sudoers line; anything far larger is not one. */
const DEFAULT_MAX_BYTES = 4 << 20;

export interface RegularFileRead {
  text: string;
  uid: number;
  mode: number;
}

/**
 * A regular file's content, opened without following a symlink at its name and without
 * blocking (a FIFO), at most maxBytes; null for anything else or any error.
 */
export function readRegularFile(path: string, maxBytes = DEFAULT_MAX_BYTES): RegularFileRead | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > maxBytes) return null;
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return { text: buf.subarray(0, off).toString('utf8'), uid: st.uid, mode: st.mode & 0o7777 };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The names in a directory; none when it cannot be read (absent, not a directory). */
export function directoryNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
