/**
 * The last good SSM and instance-tag reads, kept under STATE_DIR by root. `sync` falls back to
 * them when SSM or instance metadata cannot be read; `keys` (the login path) only ever reads
 * them, so a login never waits on SSM or IMDS.
 */
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import { parseJsonObject } from './json';
import { statePath } from './paths';
import type { SsmParameter } from '../config/layers';
import { isMissing } from '../util/errno';

export interface RemoteSnapshot {
  version: 1;
  ssm: { path: string; fetchedAt: string; parameters: SsmParameter[] } | null;
  /** Tag key -> value, null when the instance had no such tag. */
  tags: { fetchedAt: string; values: Record<string, string | null> } | null;
}

export function remoteConfigPath(stateDir: string): string {
  return statePath(stateDir, 'remoteConfig');
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * Reads the snapshot. Absent: `{ snapshot: null }`. A file that is not root's (or this user's),
 * is writable by others, or is not exactly well-formed is never trusted: `problem` says why.
 */
export function readRemoteSnapshot(stateDir: string): { snapshot: RemoteSnapshot | null; problem?: string } {
  const path = remoteConfigPath(stateDir);
  let text: string;
  try {
    const st = lstatSync(path);
    const euid = process.geteuid?.() ?? 0;
    if (!st.isFile()) return { snapshot: null, problem: `${path} is not a regular file` };
    if ((st.uid !== 0 && st.uid !== euid) || (st.mode & 0o022) !== 0) return { snapshot: null, problem: `${path} is not owned by root or is writable by others` };
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (isMissing(e)) return { snapshot: null };
    return { snapshot: null, problem: `${path}: ${(e as Error).message}` };
  }
  const snapshot = parseSnapshot(text);
  return snapshot ? { snapshot } : { snapshot: null, problem: `${path} is malformed` };
}

function parseSnapshot(text: string): RemoteSnapshot | null {
  const r = parseJsonObject(text);
  if (!r) return null;
  if (r.version !== 1) return null;
  let ssm: RemoteSnapshot['ssm'] = null;
  if (r.ssm !== null) {
    const s = r.ssm as Record<string, unknown> | undefined;
    if (typeof s !== 'object' || !isString(s.path) || !isString(s.fetchedAt) || !Array.isArray(s.parameters)) return null;
    const parameters: SsmParameter[] = [];
    for (const p of s.parameters as unknown[]) {
      const q = p as Record<string, unknown> | null;
      if (typeof q !== 'object' || q === null || !isString(q.name) || !isString(q.value) || !isString(q.type)) return null;
      parameters.push({ name: q.name, value: q.value, type: q.type });
    }
    ssm = { path: s.path, fetchedAt: s.fetchedAt, parameters };
  }
  let tags: RemoteSnapshot['tags'] = null;
  if (r.tags !== null) {
    const t = r.tags as Record<string, unknown> | undefined;
    if (typeof t !== 'object' || !isString(t.fetchedAt) || typeof t.values !== 'object' || t.values === null || Array.isArray(t.values)) return null;
    const values: Record<string, string | null> = Object.create(null) as Record<string, string | null>;
    for (const [k, v] of Object.entries(t.values)) {
      if (v !== null && !isString(v)) return null;
      values[k] = v;
    }
    tags = { fetchedAt: t.fetchedAt, values };
  }
  return { version: 1, ssm, tags };
}

/** Written by root, readable by the keys command's unprivileged user. */
export function writeRemoteSnapshot(stateDir: string, snapshot: RemoteSnapshot): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  writeFileAtomic(remoteConfigPath(stateDir), JSON.stringify(snapshot) + '\n', 0o644);
}
