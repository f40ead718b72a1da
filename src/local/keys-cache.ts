/**
 * The on-disk keys cache: one file per local user under CACHE_DIR/keys, mode 0600 in a
 * 0700 directory, and a lock file per user so that concurrent `keys` processes make one
 * IAM round between them (single flight across processes).
 */
import { mkdirSync, readFileSync, openSync, closeSync, unlinkSync, statSync, writeSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import { decodeEntry, type KeysCacheEntry } from '../core/keys-cache-entry';

export class KeysCache {
  readonly dir: string;
  /**
   * Only the owner of CACHE_DIR (the AuthorizedKeysCommandUser) writes to the cache. An
   * operator running `iam-ssh keys` by hand as root must not leave root-owned files that
   * the command user can no longer replace; such a run reads the cache and writes nothing.
   */
  readonly writable: boolean;
  constructor(cacheDir: string) {
    this.dir = join(cacheDir, 'keys');
    this.writable = ownedByUs(cacheDir);
  }

  private file(localUser: string): string {
    return join(this.dir, `${localUser}.json`);
  }

  read(localUser: string, scope: string): KeysCacheEntry | null {
    let text: string;
    try {
      text = readFileSync(this.file(localUser), 'utf8');
    } catch {
      return null;
    }
    return decodeEntry(text, localUser, scope);
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
    const names = new Set([`${localUser}.json`, `${localUser}.lock`]);
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
    const path = join(this.dir, `${localUser}.lock`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return () => {
          // Only our own lock: a waiter may have broken it as stale and taken it since.
          try {
            if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
          } catch { /* already gone */ }
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let age: number;
        try {
          age = Date.now() - statSync(path).mtimeMs;
        } catch {
          continue; // released between our open and stat: try again
        }
        if (age <= staleMs) return null;
        try { unlinkSync(path); } catch { /* another waiter broke it first */ }
      }
    }
    return null;
  }
}

/** True when CACHE_DIR belongs to this process's user, creating it (0700) when missing. */
function ownedByUs(cacheDir: string): boolean {
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    return statSync(cacheDir).uid === process.getuid!();
  } catch {
    return false;
  }
}
