/**
 * KEYS_PREFETCH: `sync` (root) writes keys cache entries for `keys` (the unprivileged
 * AuthorizedKeysCommandUser, owner of CACHE_DIR). The writes are made with the effective
 * uid/gid of that owner: the files come out owned by it, and a directory it controls can
 * never lead root into writing somewhere else (a planted symlink only reaches what the owner
 * could write anyway).
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import { cachePath, keysEntryName } from '../state/paths';
import { isValidLocalName } from './names';
import type { KeysCacheEntry } from '../keys/cache-entry';
import { errnoText } from '../util/errno';

export interface CacheOwner {
  uid: number;
  gid: number;
}

/** The owner of CACHE_DIR, or the reason prefetch cannot write there. */
export function cacheOwner(cacheDir: string): CacheOwner | string {
  try {
    const st = lstatSync(cacheDir);
    if (!st.isDirectory()) return `${cacheDir} is not a directory`;
    return { uid: st.uid, gid: st.gid };
  } catch (e) {
    return `${cacheDir}: ${errnoText(e)}`;
  }
}

/** Writes entries as the cache's owner; synchronous, so nothing else runs under that identity. */
export function writeEntriesAsOwner(cacheDir: string, owner: CacheOwner, entries: readonly KeysCacheEntry[]): { written: string[]; failed: Record<string, string> } {
  const written: string[] = [];
  const failed: Record<string, string> = {};
  const dropPrivileges = process.geteuid!() === 0 && owner.uid !== 0;
  if (dropPrivileges) {
    process.setegid!(owner.gid);
    process.seteuid!(owner.uid);
  }
  try {
    const dir = cachePath(cacheDir, 'keysDir');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const entry of entries) {
      try {
        if (!isValidLocalName(entry.localUser)) throw new Error('not a local user name');
        writeFileAtomic(join(dir, keysEntryName(entry.localUser)), JSON.stringify(entry) + '\n', 0o600);
        written.push(entry.localUser);
      } catch (e) {
        failed[entry.localUser] = errnoText(e);
      }
    }
  } catch (e) {
    for (const entry of entries) failed[entry.localUser] ??= errnoText(e);
  } finally {
    if (dropPrivileges) {
      process.seteuid!(0);
      process.setegid!(0);
    }
  }
  return { written, failed };
}
