/**
 * The lookup behind `iam-ssh keys`: the name, the member list recorded by sync, the keys
 * cache, and only then IAM, with one refresh at a time across processes (single flight) and a
 * usable stale entry served when IAM fails. Every side effect comes in through LookupDeps.
 */
import { setMaxListeners } from 'node:events';
import type { Config } from '../config/config';
import type { Logger } from '../util/log';
import { errText } from '../util/log';
import { isManagedNameSyntax, checkLocalName } from '../sync/names';
import type { ManagedAccount, ManagedCheck } from './managed-account';
import { sameFingerprint } from '../util/ssh-key';
import { readActiveKeys } from './active-keys';
import { callStats } from '../aws/call-stats';
import { authScope, freshness, type KeysCacheEntry, type CachedKey } from './cache-entry';
import { KeysCache } from './cache';
import { readSyncState } from '../state/sync-state';
import { readMembers, writeMembers } from '../state/members';
import type { IamDirectory } from '../aws/iam';
import { isSha256Fingerprint } from '../util/validators';

export interface LookupDeps {
  config: Config;
  log: Logger;
  /**
   * Built only on a cache miss, so the hit path never loads the SDK. `retry` is false when a
   * usable stale entry exists: that is a better answer now than a fresh one after a backoff.
   */
  iam: (opts: { retry: boolean }) => Promise<IamDirectory>;
  out: (text: string) => void;
  /** Whether `user` is a local account sync created or adopted, and its IAM identity (./managed-account.ts). */
  managedAccount: (user: string) => ManagedCheck;
  /** When the command's hard budget ends (ms, Date.now() terms); by default KEYS_TIMEOUT from now. */
  deadline?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called once when another process holds the refresh: the waiter leaves the CPU to it. */
  whileWaiting?: () => void;
}

const POLL_MS = 20;
const MAX_POLL_MS = 320;
/** Time kept back from the budget to log and exit before the hard timer fires. */
const MARGIN_MS = 250;

type Source = 'hit' | 'miss' | 'stale' | 'waited' | 'snapshot';

export async function lookupKeys(user: string, fingerprint: string | undefined, deps: LookupDeps): Promise<void> {
  const { config, log } = deps;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  const deadline = (deps.deadline ?? started + config.keysTimeoutMs) - MARGIN_MS;

  // iam-ssh's own form of a name, or the name aws-ec2-ssh gave an account that sync adopted (which
  // the registry must then hold under exactly that name: ./managed-account.ts).
  if (!isManagedNameSyntax(user)) {
    log.log('info', 'keys.refused', { user: printable(user), reason: `name ${checkLocalName(user) ?? 'reserved'}` });
    return;
  }
  if (fingerprint !== undefined && !isSha256Fingerprint(fingerprint)) {
    log.log('warn', 'keys.fingerprint_ignored', { user, fingerprint: printable(fingerprint) });
    fingerprint = undefined;
  }
  const scope = authScope(config);
  const state = readSyncState(config.stateDir);
  const recorded = state && state.scope === scope ? state : null;
  if (recorded && !recorded.users.some((u) => u.localName === user)) {
    log.log('info', 'keys.refused', { user, reason: 'not in the member list recorded by sync', state: recorded.writtenAt });
    return;
  }
  // Only an account iam-ssh manages, whatever IAM says: an IAM user named `ubuntu` never
  // reaches the local `ubuntu`.
  const managed = deps.managedAccount(user);
  if (!managed.ok) {
    log.log('info', 'keys.refused', { user, reason: managed.reason });
    return;
  }
  const account = managed.account;

  const cache = new KeysCache(config.cacheDir);
  // Built only when an IAM call is really needed: a name that the cached member list refuses
  // costs no more than a cache hit.
  let iam: IamDirectory | null = null;
  const getIam = async () =>
    (iam ??= await deps.iam({ retry: !(cached && freshness(cached, now(), config.keysCacheTtlMs, config.keysMaxStaleMs) !== 'expired') }));
  const serve = (entry: KeysCacheEntry, source: Source) => {
    let keys: CachedKey[] = entry.keys;
    let matched: string | null = null;
    if (fingerprint) {
      keys = keys.filter((k) => sameFingerprint(k.fingerprint, fingerprint!));
      matched = keys[0]?.id ?? null;
    }
    if (keys.length) deps.out(keys.map((k) => k.line + '\n').join(''));
    log.log('info', 'keys.served', {
      user, iamUser: entry.iamUser, source, ...(entry.snapshotSerial !== undefined ? { serial: entry.snapshotSerial } : {}), ageMs: now() - entry.fetchedAt,
      keys: keys.map((k) => ({ id: k.id, fingerprint: k.fingerprint })),
      ...(fingerprint ? { requested: fingerprint, matchedKeyId: matched } : {}),
      durationMs: now() - started, calls: callStats({ iam: iam?.calls }),
    });
  };

  let cached = cache.read(user, scope);
  // SNAPSHOT_URL: sync keeps every entry in step with the fleet's snapshot; keys never calls IAM.
  if (config.snapshotUrl) return serveSnapshotEntry(cached);
  if (cached && freshness(cached, now(), config.keysCacheTtlMs, config.keysMaxStaleMs) === 'fresh') return serve(cached, 'hit');

  // Single flight: one process refreshes, the others wait for its result.
  // Waiters sleep until the holder's entry or lock changes (inotify), polling ever more slowly
  // in case an event is missed: under a burst of logins they leave the CPU to the holder.
  let release: (() => void) | null;
  let waited = false;
  let pollMs = POLL_MS;
  const watcher = deps.sleep ? null : cache.watch(user);
  try {
    while (!(release = cache.tryLock(user, config.keysTimeoutMs))) {
      if (!waited) deps.whileWaiting?.();
      waited = true;
      if (now() + POLL_MS >= deadline) break;
      const wait = Math.min(pollMs, deadline - now());
      await (watcher ? watcher.next(wait) : sleep(wait));
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
      cached = cache.read(user, scope) ?? cached;
      if (cached && freshness(cached, now(), config.keysCacheTtlMs, config.keysMaxStaleMs) === 'fresh') return serve(cached, 'waited');
    }
  } finally {
    watcher?.close();
  }
  function serveSnapshotEntry(entry: KeysCacheEntry | null): void {
    if (entry?.snapshotSerial !== undefined) {
      // A stopped publisher (or a bucket writer holding snapshots back) freezes access: logins
      // go on no longer than an IAM outage would let a stale answer serve.
      if (now() - entry.fetchedAt <= config.snapshotMaxAgeMs + config.keysMaxStaleMs) return serve(entry, 'snapshot');
      log.log('error', 'keys.failed_closed', { user, reason: 'the keys cache entry of the access snapshot is older than SNAPSHOT_MAX_AGE + KEYS_MAX_STALE: sync has accepted no snapshot since', durationMs: now() - started });
      return;
    }
    // An entry of an IAM read (before the snapshot, or SNAPSHOT_FALLBACK=iam) serves only while usable.
    if (entry && freshness(entry, now(), config.keysCacheTtlMs, config.keysMaxStaleMs) !== 'expired') return serve(entry, 'stale');
    log.log('error', 'keys.failed_closed', { user, reason: 'no keys cache entry from the access snapshot (SNAPSHOT_URL is set: keys makes no IAM call)', durationMs: now() - started });
  }
  const fallBack = (reason: string, error?: unknown) => {
    const usable = cached && freshness(cached, now(), config.keysCacheTtlMs, config.keysMaxStaleMs) !== 'expired';
    log.log(usable ? 'warn' : 'error', usable ? 'keys.stale' : 'keys.failed_closed', {
      user, reason, ...(error ? { error: errText(error) } : {}), durationMs: now() - started,
    });
    if (usable) serve(cached!, 'stale');
  };
  if (!release) return fallBack(waited ? 'another process holds the refresh lock past the budget' : 'cannot lock');
  try {
    // The holder we waited for may have refreshed just before releasing.
    const fresh = cache.read(user, scope);
    if (fresh && freshness(fresh, now(), config.keysCacheTtlMs, config.keysMaxStaleMs) === 'fresh') return serve(fresh, 'waited');
    const ac = new AbortController();
    // Every key of a user is read at once on this signal: more than ten keys is not a leak.
    setMaxListeners(0, ac.signal);
    const timer = setTimeout(() => ac.abort(new Error('IAM did not answer within the time budget')), Math.max(0, deadline - now()));
    try {
      const recordedAt = recorded ? Date.parse(recorded.writtenAt) : NaN;
      const entry = await refresh(account, scope, getIam, cached?.keys ?? [], ac.signal, deps, now, cache.writable, recordedAt);
      if (!entry) {
        // No longer authorized: the old entry must not come back as a stale answer in an outage.
        cache.forget(user);
        return; // logged as refused inside
      }
      cache.write(entry);
      serve(entry, 'miss');
    } catch (e) {
      fallBack('IAM read failed', ac.signal.aborted ? ac.signal.reason : e);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    release();
  }
}

/**
 * Re-checks that the account's IAM user (by its unique id) is still in the authorized groups,
 * then reads its Active keys; null when it is not. The entry counts as fetched when the member
 * list was read, so a user taken out of the groups loses access within KEYS_CACHE_TTL of that read.
 * A cached list read before sync's record (recordedAt) may not refuse a user that record holds:
 * the user joined since, so IAM is read again.
 */
async function refresh(
  account: ManagedAccount, scope: string, getIam: () => Promise<IamDirectory>,
  knownKeys: readonly CachedKey[], signal: AbortSignal, deps: LookupDeps, now: () => number, cacheWritable: boolean,
  recordedAt: number,
): Promise<KeysCacheEntry | null> {
  const { config, log } = deps;
  const user = account.localName;
  let members = readMembers(config.cacheDir, scope, now(), config.keysCacheTtlMs);
  if (members && members.fetchedAt < recordedAt && !members.users.some((m) => m.userId === account.iamUserId)) members = null;
  if (!members) {
    const iam = await getIam();
    const users = config.authorizedGroups.length === 0 ? await iam.listUsers(signal) : await unionOfGroups(iam, config.authorizedGroups, signal);
    members = { fetchedAt: now(), users };
    if (cacheWritable) writeMembers(config.cacheDir, scope, members.fetchedAt, users);
  }
  const member = members.users.find((m) => m.userId === account.iamUserId);
  if (!member) {
    log.log('info', 'keys.refused', { user, iamUser: account.iamName, reason: 'the IAM user is no longer in the authorized groups' });
    return null;
  }
  // Bodies of key ids already in the (stale) entry are reused: IAM never changes a key's body.
  const { keys, dropped } = await readActiveKeys(await getIam(), member.userName, knownKeys, signal);
  for (const d of dropped) log.log('warn', 'keys.key_dropped', { user, iamUser: member.userName, keyId: d.keyId, reason: d.reason });
  return { version: 1, fetchedAt: members.fetchedAt, localUser: user, iamUser: member.userName, scope, keys };
}

async function unionOfGroups(iam: IamDirectory, groups: string[], signal: AbortSignal) {
  const lists = await Promise.all(groups.map((g) => iam.listGroupMembers(g, signal)));
  const byName = new Map(lists.flat().map((u) => [u.userName, u]));
  return [...byName.values()];
}

/** A user-supplied string made safe for a log line (sshd passes whatever the client sent). */
function printable(s: string): string {
  return s.slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
}
