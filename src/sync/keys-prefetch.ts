/**
 * KEYS_PREFETCH: `sync` (root) writes keys cache entries for `keys` (the unprivileged
 * AuthorizedKeysCommandUser, owner of CACHE_DIR). The writes are made with the effective
 * uid/gid of that owner: the files come out owned by it, and a directory it controls can
 * never lead root into writing somewhere else (a planted symlink only reaches what the owner
 * could write anyway).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import { cachePath, keysEntryName } from '../state/paths';
import { isManagedNameSyntax } from './names';
import type { KeysCacheEntry } from '../keys/cache-entry';
import { errnoText } from '../util/errno';
import { asCacheOwner } from '../state/cache-access';

/** Writes entries as the cache's owner; synchronous, so nothing else runs under that identity. */
export function writeEntriesAsOwner(cacheDir: string, entries: readonly KeysCacheEntry[]): { written: string[]; failed: Record<string, string> } {
  const written: string[] = [];
  const failed: Record<string, string> = {};
  const done = asCacheOwner(cacheDir, () => {
    const dir = cachePath(cacheDir, 'keysDir');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      for (const entry of entries) failed[entry.localUser] = errnoText(e);
      return;
    }
    for (const entry of entries) {
      try {
        if (!isManagedNameSyntax(entry.localUser)) throw new Error('not a local user name');
        writeFileAtomic(join(dir, keysEntryName(entry.localUser)), JSON.stringify(entry) + '\n', 0o600);
        written.push(entry.localUser);
      } catch (e) {
        failed[entry.localUser] = errnoText(e);
      }
    }
  });
  if (!done.ok) for (const entry of entries) failed[entry.localUser] ??= done.reason;
  return { written, failed };
}
