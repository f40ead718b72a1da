/**
 * Lock files that hold their owner's pid: created exclusively, removed only by their owner.
 * The sync run lock and the keys cache's per-user refresh locks are both made of these.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/** Creates `path` holding this process's pid; false when it exists already. */
export function tryCreatePidFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Removes `path` only while it is still ours: a waiter may have broken it as stale and taken it since. */
export function removeOwnPidFile(path: string): void {
  try {
    if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
  } catch { /* already gone */ }
}

/** The pid a lock file names; NaN when it is gone or does not hold one. */
export function pidFileOwner(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return NaN;
  }
}
