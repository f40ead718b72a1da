/**
 * The on-disk keys cache: one file per local user under CACHE_DIR/keys, mode 0600 in a
 * 0700 directory, and a lock file per user so that concurrent `keys` processes make one
 * IAM round between them (single flight across processes).
 */
import { lstatSync, mkdirSync, unlinkSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { cachePath, keysEntryName, keysLockName } from '../state/paths';
import { removeOwnPidFile, tryCreatePidFile } from '../state/pid-lock';
import { readRegularFile } from '../util/regular-file';
import { writeFileAtomic } from '../util/atomic-file';
import { decodeEntry, type KeysCacheEntry } from './cache-entry';

export class KeysCache {
  readonly dir: string;
  /**
   * Only the owner of CACHE_DIR (the AuthorizedKeysCommandUser) writes to the cache. An
   * operator running `iam-ssh keys` by hand as root must not leave root-owned files that
   * the command user can no longer replace; such a run reads the cache and writes nothing.
   */
  readonly writable: boolean;
  constructor(cacheDir: string) {
    this.dir = cachePath(cacheDir, 'keysDir');
    this.writable = ownedByUs(cacheDir);
  }

  private file(localUser: string): string {
    return join(this.dir, keysEntryName(localUser));
  }

  read(localUser: string, scope: string): KeysCacheEntry | null {
    const file = readRegularFile(this.file(localUser));
    return file && decodeEntry(file.text, localUser, scope);
  }

  /** Drops a user's entry (the user was removed); an entry that is not there is fine. */
  forget(localUser: string): void {
    try { unlinkSync(this.file(localUser)); } catch { /* not cached */ }
  }

  write(entry: KeysCacheEntry): void {
    if (!this.writable) return;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.file(entry.localUser), JSON.stringify(entry) + '\n', 0o600);
  }

  /**
   * Wakes a waiter when the user's entry or lock file changes: `next(ms)` resolves on such a
   * change or after ms. Without inotify (or without the directory) it is a plain timer.
   */
  watch(localUser: string): { next(ms: number): Promise<void>; close(): void } {
    const names = new Set([keysEntryName(localUser), keysLockName(localUser)]);
    let wake: (() => void) | null = null;
    let changed = false;
    let watcher: FSWatcher | null = null;
    try {
      watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name !== null && !names.has(String(name))) return;
        changed = true;
        wake?.();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = null;
    }
    return {
      next: (ms) => new Promise<void>((resolve) => {
        if (changed) {
          changed = false;
          return resolve();
        }
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = null;
          changed = false;
          resolve();
        }
        wake = done;
      }),
      close: () => watcher?.close(),
    };
  }

  /**
   * Takes the per-user refresh lock, or returns null when another process holds it.
   * A lock older than staleMs belongs to a process that died or overran its own budget.
   */
  tryLock(localUser: string, staleMs: number): (() => void) | null {
    if (!this.writable) return () => {};
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, keysLockName(localUser));
    for (let attempt = 0; attempt < 2; attempt++) {
      if (tryCreatePidFile(path)) return () => removeOwnPidFile(path);
      let age: number;
      try {
        age = Date.now() - statSync(path).mtimeMs;
      } catch {
        continue; // released between our open and stat: try again
      }
      if (age <= staleMs) return null;
      try { unlinkSync(path); } catch { /* another waiter broke it first */ }
    }
    return null;
  }
}

/**
 * True when CACHE_DIR is a directory of this process's user. It is never created here: install
 * creates it for the command user, and a `keys` run by hand as root must not make it root's.
 */
function ownedByUs(cacheDir: string): boolean {
  try {
    const st = lstatSync(cacheDir);
    return st.isDirectory() && st.uid === process.geteuid!();
  } catch {
    return false;
  }
}
