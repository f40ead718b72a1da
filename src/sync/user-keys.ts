/**
 * The keys part of `sync`, when KEYS_MODE=file or KEYS_PREFETCH=yes: read every managed
 * user's Active keys from IAM, then write the AuthorizedKeysFiles (file mode) or the keys
 * cache entries (prefetch). IAM has no bulk call for SSH keys, so this costs one
 * ListSSHPublicKeys per user and run, plus one GetSSHPublicKey per key id not seen before.
 */
import type { Config } from '../config/config';
import type { IamDirectory } from '../aws/iam';
import type { Logger } from '../util/log';
import { errText } from '../util/log';
import { readActiveKeys } from '../keys/active-keys';
import { authScope, type CachedKey, type KeysCacheEntry } from '../keys/cache-entry';
import { parseKeyFile, planKeyFiles, type KeyFileUser } from '../keys/file-mode';
import { prepareKeysDir, readKeyFiles, removeKeyFile, writeKeyFile } from '../keys/file-mode-store';
import { KeysCache } from '../keys/cache';
import { writeEntriesAsOwner } from './keys-prefetch';
import { asCacheOwner, cacheOwner } from '../state/cache-access';
import type { LocalSnapshot, Plan } from './plan';
import type { SyncState } from '../state/sync-state';
import { formatCalls, type CallStats } from '../aws/call-stats';
import { forEachLimited } from '../util/pool';

export interface ManagedUser {
  localName: string;
  iamName: string;
}

export interface KeysSyncResult {
  mode: 'file' | 'prefetch';
  users: number;
  /** Users whose keys could not be read or written: their previous file/entry stays. */
  failed: string[];
  written: number;
  removed: number;
  /** The per-user IAM calls of this part of the run. */
  calls: Record<string, number>;
}

/** Parallel key reads: fast, yet gentle with IAM's per-account request rate. */
const CONCURRENCY = 4;

export async function syncUserKeys(
  config: Config, iam: IamDirectory, users: readonly ManagedUser[], managed: ReadonlySet<string>, complete: boolean, log: Logger,
  /** The access snapshot's serial when the keys come from one: the entries carry it, for `keys.served`. */
  snapshotSerial?: number,
): Promise<KeysSyncResult | null> {
  if (config.keysMode !== 'file' && !config.keysPrefetch) return null;
  const mode = config.keysMode === 'file' ? 'file' : 'prefetch';
  const before = { ...iam.calls };
  const result: KeysSyncResult = { mode, users: users.length, failed: [], written: 0, removed: 0, calls: {} };
  const finish = () => {
    for (const [action, n] of Object.entries(iam.calls)) if (n - (before[action] ?? 0) > 0) result.calls[action] = n - (before[action] ?? 0);
    result.failed.sort();
    return result;
  };

  // Where the bodies of known key ids come from: the file written last time, or the cache entry.
  let known: (user: string) => CachedKey[];
  let existing = new Map<string, string>();
  const scope = authScope(config);
  if (mode === 'file') {
    const problem = prepareKeysDir(config.keysFileDir);
    if (problem) {
      log.log('error', 'sync.keys_dir_unsafe', { dir: config.keysFileDir, error: problem });
      result.failed = users.map((u) => u.localName);
      return finish();
    }
    existing = readKeyFiles(config.keysFileDir);
    known = (user) => parseKeyFile(existing.get(user) ?? '');
  } else {
    const cache = new KeysCache(config.cacheDir);
    known = (user) => {
      const r = asCacheOwner(config.cacheDir, () => cache.read(user, scope));
      return (r.ok ? r.value?.keys : null) ?? [];
    };
  }

  const read = new Map<string, CachedKey[]>();
  await forEachLimited(users, CONCURRENCY, async (u) => {
    try {
      const { keys, dropped } = await readActiveKeys(iam, u.iamName, known(u.localName));
      for (const d of dropped) log.log('warn', 'sync.key_dropped', { user: u.localName, iamUser: u.iamName, keyId: d.keyId, reason: d.reason });
      read.set(u.localName, keys);
    } catch (e) {
      result.failed.push(u.localName);
      log.log('error', 'sync.keys_read_failed', { user: u.localName, iamUser: u.iamName, error: errText(e) });
    }
  });

  if (mode === 'file') {
    const fileUsers: KeyFileUser[] = users.map((u) => ({ ...u, keys: read.get(u.localName) ?? null }));
    const plan = planKeyFiles({ users: fileUsers, existing, managed, complete });
    for (const w of plan.write) {
      try {
        writeKeyFile(config.keysFileDir, w.user, w.content);
        result.written++;
      } catch (e) {
        result.failed.push(w.user);
        log.log('error', 'sync.keys_file_failed', { user: w.user, error: errText(e) });
      }
    }
    for (const user of plan.remove) {
      try {
        removeKeyFile(config.keysFileDir, user);
        result.removed++;
        log.log('info', 'sync.keys_file_removed', { user, reason: 'no longer a managed user' });
      } catch (e) {
        log.log('error', 'sync.keys_file_failed', { user, error: errText(e) });
      }
    }
    return finish();
  }

  const owner = cacheOwner(config.cacheDir);
  if (typeof owner === 'string') {
    log.log('error', 'sync.prefetch_failed', { error: owner });
    result.failed.push(...read.keys());
    return finish();
  }
  const now = Date.now();
  const entries: KeysCacheEntry[] = users.filter((u) => read.has(u.localName)).map((u) => ({
    version: 1, fetchedAt: now, localUser: u.localName, iamUser: u.iamName, scope, keys: read.get(u.localName)!,
    ...(snapshotSerial !== undefined ? { snapshotSerial } : {}),
  }));
  const { written, failed } = writeEntriesAsOwner(config.cacheDir, entries);
  result.written = written.length;
  for (const [user, error] of Object.entries(failed)) {
    result.failed.push(user);
    log.log('error', 'sync.prefetch_failed', { user, error });
  }
  return finish();
}

/** Every local name this tool manages or managed: the only key files it may ever remove. */
export function managedNames(local: LocalSnapshot, plan: Plan, previous: SyncState | null, markerGroup: string): Set<string> {
  return new Set([
    ...Object.keys(local.registry),
    ...(local.groups[markerGroup]?.members ?? []),
    ...(previous?.users.map((u) => u.localName) ?? []),
    ...plan.desired.map((d) => d.localName),
  ]);
}

/** `sync --stats`: the AWS calls of the run, and the per-user share of them. */
export function syncStatsText(calls: CallStats, keys: KeysSyncResult | null): string {
  const lines = [`AWS calls: ${formatCalls(calls)}`];
  if (keys) {
    const perUser = Object.entries(keys.calls).map(([a, n]) => `${a} ${n}`).join(', ') || 'none';
    lines.push(`of which for the keys of ${keys.users} users (${keys.mode}): ${perUser}; ${keys.written} written, ${keys.removed} removed, ${keys.failed.length} failed`);
  }
  return lines.join('\n') + '\n';
}
