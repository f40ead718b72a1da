/**
 * One sync at a time. The lock file holds the owner's pid; a lock whose owner no longer
 * exists (kill -9, reboot) is taken over, so a crash never blocks the next run.
 */
import { openSync, writeSync, closeSync, readFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireRunLock(stateDir: string, waitMs: number): Promise<{ release: () => void } | { heldBy: number }> {
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  const path = join(stateDir, 'sync.lock');
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => { try { unlinkSync(path); } catch { /* gone */ } } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(path, 'utf8').trim());
    } catch { /* released meanwhile */ }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      try { unlinkSync(path); } catch { /* another run took it over first */ }
      continue;
    }
    if (Date.now() >= until) return { heldBy: owner };
    await new Promise((r) => setTimeout(r, 200));
  }
}
