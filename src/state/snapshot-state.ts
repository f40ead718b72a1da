/**
 * What an instance remembers of the access snapshot (STATE_DIR, root's): the last serial and
 * body it accepted, which no later snapshot may go below (rollback, replay), and the manifest's
 * ETag for the next conditional GET, kept only once a snapshot was applied completely, so that
 * a run that failed part-way fetches and applies it again. Also what doctor reports.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import { parseJsonObject } from './json';
import { statePath } from './paths';

export interface SnapshotState {
  version: 1;
  url: string;
  serial: number;
  sha256: string;
  /** The accepted snapshot's generation time (ISO): its age is checked on every 304 too. */
  generatedAt: string;
  /** The manifest's ETag once that snapshot was applied completely; null before. */
  etag: string | null;
  /** ISO time of the last fetch, and what came of it (for doctor). */
  lastFetch: string;
  lastResult: string;
}

export function snapshotStatePath(stateDir: string): string {
  return statePath(stateDir, 'snapshotState');
}

/** null when absent or not exactly well-formed: then no serial floor is known. */
export function readSnapshotState(stateDir: string): SnapshotState | null {
  let text: string;
  try {
    text = readFileSync(snapshotStatePath(stateDir), 'utf8');
  } catch {
    return null;
  }
  return parseSnapshotState(text);
}

export function parseSnapshotState(text: string): SnapshotState | null {
  const r = parseJsonObject(text);
  if (!r || r.version !== 1) return null;
  if (typeof r.url !== 'string' || typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) return null;
  if (typeof r.serial !== 'number' || !Number.isSafeInteger(r.serial) || r.serial < 1) return null;
  if (typeof r.generatedAt !== 'string' || Number.isNaN(Date.parse(r.generatedAt))) return null;
  if (r.etag !== null && (typeof r.etag !== 'string' || r.etag.length > 256)) return null;
  if (typeof r.lastFetch !== 'string' || typeof r.lastResult !== 'string') return null;
  return { version: 1, url: r.url, serial: r.serial, sha256: r.sha256, generatedAt: r.generatedAt, etag: r.etag as string | null, lastFetch: r.lastFetch, lastResult: r.lastResult.slice(0, 500) };
}

export function writeSnapshotState(stateDir: string, state: SnapshotState): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  writeFileAtomic(snapshotStatePath(stateDir), JSON.stringify(state) + '\n', 0o644);
}
