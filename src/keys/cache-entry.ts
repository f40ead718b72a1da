/**
 * The per-user keys cache entry: its shape, its strict validation (a file that does not
 * parse into exactly this is ignored, never trusted) and its freshness. Pure.
 */
import { parsePublicKey } from '../util/ssh-key';
import { isIamUserName, isManagedNameSyntax } from '../sync/names';
import { parseJsonObject } from '../state/json';
import { isIamKeyId } from '../util/validators';

export interface CachedKey {
  /** IAM SSHPublicKeyId */
  id: string;
  line: string;
  fingerprint: string;
}

export interface KeysCacheEntry {
  version: 1;
  /** Epoch ms of the IAM read that produced it. */
  fetchedAt: number;
  localUser: string;
  iamUser: string;
  /** Which authorization settings it was computed under; a change invalidates it. */
  scope: string;
  keys: CachedKey[];
  /** Written by sync from the access snapshot of this serial (SNAPSHOT_URL), not by an IAM read of `keys`. */
  snapshotSerial?: number;
}

export type Freshness = 'fresh' | 'stale' | 'expired';

export function freshness(entry: KeysCacheEntry, now: number, ttlMs: number, maxStaleMs: number): Freshness {
  const age = now - entry.fetchedAt;
  // A timestamp in the future (clock stepped back) is treated as stale, not as fresh forever.
  if (age < 0) return age > -ttlMs ? 'stale' : 'expired';
  if (age < ttlMs) return 'fresh';
  if (age < maxStaleMs) return 'stale';
  return 'expired';
}

/** Parses and re-validates a cache file's text; null for anything not exactly right. */
export function decodeEntry(text: string, localUser: string, scope: string): KeysCacheEntry | null {
  const e = parseJsonObject(text);
  if (!e) return null;
  if (e.version !== 1 || e.localUser !== localUser || e.scope !== scope) return null;
  if (typeof e.fetchedAt !== 'number' || !Number.isFinite(e.fetchedAt)) return null;
  if (typeof e.iamUser !== 'string' || !isIamUserName(e.iamUser) || !isManagedNameSyntax(localUser)) return null;
  if (!Array.isArray(e.keys)) return null;
  const keys: CachedKey[] = [];
  for (const k of e.keys as unknown[]) {
    if (typeof k !== 'object' || k === null) return null;
    const { id, line } = k as Record<string, unknown>;
    if (typeof id !== 'string' || !isIamKeyId(id) || typeof line !== 'string') return null;
    // The line is re-validated: the cache directory is not trusted to hold only what we wrote.
    const parsed = parsePublicKey(line);
    if (!parsed.ok || parsed.key.line !== line) return null;
    keys.push({ id, line, fingerprint: parsed.key.fingerprint });
  }
  if (e.snapshotSerial !== undefined && !(typeof e.snapshotSerial === 'number' && Number.isSafeInteger(e.snapshotSerial) && e.snapshotSerial > 0)) return null;
  return { version: 1, fetchedAt: e.fetchedAt, localUser, iamUser: e.iamUser, scope, keys, ...(e.snapshotSerial !== undefined ? { snapshotSerial: e.snapshotSerial as number } : {}) };
}

/** The scope string for a set of settings that decide who is authorized. */
export function authScope(c: { authorizedGroups: readonly string[]; awsEndpointUrl: string | null; assumeRole: string | null }): string {
  // The role names the account IAM is read from; without one the string stays as it always was.
  return JSON.stringify({ g: [...c.authorizedGroups].sort(), e: c.awsEndpointUrl ?? '', ...(c.assumeRole ? { r: c.assumeRole } : {}) });
}
