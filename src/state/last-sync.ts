/**
 * The outcome of the last applied `sync`, kept under STATE_DIR so that `doctor` can tell an
 * operator whether the timer's runs succeed, and when the last one ran.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import { parseJsonObject } from './json';
import { statePath } from './paths';
import { isMissing } from '../util/errno';

export interface LastSync {
  /** ISO time the run finished. */
  time: string;
  exitCode: number;
  /** Every IAM read of the run succeeded. */
  complete: boolean;
  changes: number;
  failures: number;
  durationMs: number;
}

function lastSyncPath(stateDir: string): string {
  return statePath(stateDir, 'lastSync');
}

export function writeLastSync(stateDir: string, outcome: LastSync): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  writeFileAtomic(lastSyncPath(stateDir), JSON.stringify(outcome) + '\n', 0o644);
}

/** 'absent' when no run was recorded; 'invalid' when the file is unreadable or malformed. */
export function readLastSync(stateDir: string): LastSync | 'absent' | 'invalid' {
  let text: string;
  try {
    text = readFileSync(lastSyncPath(stateDir), 'utf8');
  } catch (e) {
    return isMissing(e) ? 'absent' : 'invalid';
  }
  return parseLastSync(text) ?? 'invalid';
}

export function parseLastSync(text: string): LastSync | null {
  const r = parseJsonObject(text);
  if (!r) return null;
  const int = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
  if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) return null;
  if (!int(r.exitCode) || !int(r.changes) || !int(r.failures) || !int(r.durationMs) || typeof r.complete !== 'boolean') return null;
  return { time: r.time, exitCode: r.exitCode as number, complete: r.complete, changes: r.changes as number, failures: r.failures as number, durationMs: r.durationMs as number };
}
