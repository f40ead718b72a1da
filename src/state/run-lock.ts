/**
 * One sync at a time. The lock file holds the owner's pid; a lock whose owner no longer
 * exists (kill -9, reboot) is taken over, so a crash never blocks the next run.
 */
import { unlinkSync, mkdirSync } from 'node:fs';
import { pidFileOwner, removeOwnPidFile, tryCreatePidFile } from './pid-lock';
import { statePath } from './paths';

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
  const path = statePath(stateDir, 'runLock');
  const until = Date.now() + waitMs;
  for (;;) {
    if (tryCreatePidFile(path)) return { release: () => removeOwnPidFile(path) };
    const owner = pidFileOwner(path);
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      try { unlinkSync(path); } catch { /* another run took it over first */ }
      continue;
    }
    if (Date.now() >= until) return { heldBy: owner };
    await new Promise((r) => setTimeout(r, 200));
  }
}
