/**
 * `iam-ssh sync`: read IAM, read this host, plan, apply. Each applied change is one log line;
 * one failing change is reported and the others go on.
 */
import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config';
import { resolveConfig, RemoteConfigError } from '../config/resolve';
import { awsRemoteReaders } from '../aws/remote-readers';
import { stderrLogger, errText, type Logger } from '../util/log';
import { writeFileAtomic } from '../util/atomic-file';
import { plan as makePlan, type Action, type Plan, type PlanSettings } from '../core/plan';
import { formatPlan, planJson } from '../core/plan-format';
import { authScope } from '../core/keys-cache-entry';
import { createIamDirectory } from '../aws/iam';
import { readIamSnapshot } from '../aws/iam-snapshot';
import { Accounts } from '../local/accounts';
import { Registry } from '../local/registry';
import { readSudoers, writeSudoers } from '../local/sudoers';
import { acquireRunLock } from '../local/run-lock';
import { statePath, readSyncState, type SyncState } from '../local/sync-state';
import { callStats } from '../core/call-stats';
import { syncUserKeys, keyUsers, managedNames, syncStatsText } from './sync-keys';
import { exec } from '../local/exec';
import { writeLastSync, type LastSync } from '../local/last-sync';

export interface SyncOptions {
  configFile: string | undefined;
  dryRun: boolean;
  json: boolean;
  force: boolean;
  lockWaitMs: number;
  /** Print the AWS calls of the run (stdout; stderr with --json). */
  stats?: boolean;
}

export const EXIT = { ok: 0, incomplete: 1, usage: 2, refused: 3 } as const;

export async function syncCommand(opts: SyncOptions): Promise<number> {
  const log = stderrLogger('sync');
  let config: Config;
  try {
    const loaded = await resolveConfig({ file: opts.configFile, remote: 'fetch', log, deps: { readers: awsRemoteReaders, save: !opts.dryRun } });
    loaded.warnings.forEach((w) => log.log('warn', 'config.warning', { message: w }));
    config = loaded.config;
  } catch (e) {
    // Without the remote layers the authorized groups are unknown: change nothing.
    log.log('error', e instanceof RemoteConfigError ? 'config.remote_failed' : 'config.error', { error: errText(e) });
    return e instanceof RemoteConfigError ? EXIT.incomplete : EXIT.usage;
  }
  if (config.doNotSync) {
    log.log('info', 'sync.disabled', { message: `DONOTSYNC is set in ${config.file}; nothing is changed` });
    process.stdout.write(`sync disabled by DONOTSYNC in ${config.file}; nothing changed\n`);
    return EXIT.ok;
  }
  let release = () => {};
  if (!opts.dryRun) {
    const lock = await acquireRunLock(config.stateDir, opts.lockWaitMs);
    if ('heldBy' in lock) {
      log.log('info', 'sync.skipped', { reason: `another sync (pid ${lock.heldBy}) is running` });
      return EXIT.ok;
    }
    release = lock.release;
  }
  const started = Date.now();
  try {
    return await syncLocked(config, opts, log);
  } catch (e) {
    if (!opts.dryRun) recordLastSync(config, log, { exitCode: EXIT.incomplete, complete: false, changes: 0, failures: 1, durationMs: Date.now() - started });
    throw e;
  } finally {
    release();
  }
}

export function planSettings(c: Config): PlanSettings {
  return {
    authorizedGroups: c.authorizedGroups, sudoersGroups: c.sudoersGroups, markerGroup: c.localMarkerGroup,
    localGroups: c.localGroups, groupMap: c.groupMap, sudoLocalGroup: c.sudoLocalGroup, sudoRule: c.sudoRule,
    uidMode: c.uidMode, uidMin: c.uidMin, uidMax: c.uidMax, maxRemovals: c.maxRemovals, removeHome: c.removeHome,
  };
}

async function syncLocked(config: Config, opts: SyncOptions, log: Logger): Promise<number> {
  const started = Date.now();
  const iam = await createIamDirectory(config);
  const { snapshot, errors } = await readIamSnapshot(iam, config);
  for (const [group, error] of Object.entries(errors)) log.log('error', 'sync.iam_read_failed', { group, error });

  const accounts = new Accounts(config, exec);
  const registry = new Registry(config.stateDir);
  const local = { ...(await accounts.snapshot()), registry: registry.all(), sudoersContent: readSudoers(config.sudoersFile) };
  const plan = makePlan(snapshot, local, planSettings(config), opts.force);
  for (const n of plan.notices) log.log(n.level, `sync.${n.code}`, { message: n.message, ...(n.user ? { user: n.user } : {}), ...(n.iamName ? { iamUser: n.iamName } : {}) });

  if (opts.dryRun) {
    process.stdout.write(opts.json ? planJson(plan) : formatPlan(plan));
    if (opts.stats) (opts.json ? process.stderr : process.stdout).write(syncStatsText(callStats({ iam: iam.calls }), null));
    return exitCode(plan, 0);
  }

  let failures = 0;
  const created = new Set<string>();
  for (const action of plan.actions) {
    try {
      await apply(action, accounts, registry, config);
      if (action.kind === 'create-user') created.add(action.user);
      log.log('info', 'sync.change', describe(action));
    } catch (e) {
      failures++;
      log.log('error', 'sync.change_failed', { ...describe(action), error: errText(e) });
    }
  }
  // File mode / prefetch: per-user key reads, after the accounts exist and before the state names them.
  const keys = await syncUserKeys(config, iam, keyUsers(plan, created), managedNames(local, plan, readSyncState(config.stateDir), config.localMarkerGroup), plan.complete, log);
  const keyFailures = keys?.failed.length ?? 0;
  if (plan.complete) writeState(config, plan, created, snapshot.groupMembers);
  const counts = Object.fromEntries(['create-user', 'remove-user', 'add-member', 'remove-member', 'create-group', 'write-sudoers'].map((k) => [k, plan.actions.filter((a) => a.kind === k).length]));
  log.log(failures || keyFailures || !plan.complete ? 'warn' : 'info', 'sync.done', {
    complete: plan.complete && keyFailures === 0, changes: plan.actions.length - failures, failures, planned: counts,
    users: plan.desired.length, removalsWithheld: plan.removalsWithheld, calls: callStats({ iam: iam.calls }), ...(keys ? { keys: { ...keys, failed: keyFailures } } : {}),
    durationMs: Date.now() - started,
  });
  if (opts.stats) process.stdout.write(syncStatsText(callStats({ iam: iam.calls }), keys));
  const code = exitCode(plan, failures + keyFailures);
  recordLastSync(config, log, { exitCode: code, complete: plan.complete && keyFailures === 0, changes: plan.actions.length - failures, failures, durationMs: Date.now() - started });
  return code;
}

/** For `doctor`; a record that cannot be written is logged and does not change the run's outcome. */
function recordLastSync(config: Config, log: Logger, outcome: Omit<LastSync, 'time'>): void {
  try {
    writeLastSync(config.stateDir, { time: new Date().toISOString(), ...outcome });
  } catch (e) {
    log.log('warn', 'sync.last_sync_unwritten', { error: errText(e) });
  }
}

function exitCode(plan: Plan, failures: number): number {
  if (!plan.complete || failures > 0) return EXIT.incomplete;
  if (plan.removalsWithheld) return EXIT.refused;
  return EXIT.ok;
}

async function apply(a: Action, accounts: Accounts, registry: Registry, config: Config): Promise<void> {
  switch (a.kind) {
    case 'create-group':
      return accounts.createGroup(a.group);
    case 'write-sudoers':
      return writeSudoers(config.sudoersFile, a.content, exec);
    case 'create-user': {
      registry.set(a.user, { iamName: a.iamName, iamUserId: a.iamUserId, uid: a.uid });
      try {
        await accounts.createUser(a.user, a.iamName, a.uid, a.groups);
      } catch (e) {
        const now = (await accounts.snapshot()).users[a.user];
        // A killed run's orphaned useradd may have finished the same account meanwhile: ours, done.
        if (now && a.uid !== null && now.uid === a.uid) return;
        if (!now) registry.delete(a.user);
        throw e;
      }
      if (a.uid === null) {
        const uid = (await accounts.snapshot()).users[a.user]?.uid ?? null;
        registry.set(a.user, { iamName: a.iamName, iamUserId: a.iamUserId, uid });
      }
      return;
    }
    case 'add-member':
      return accounts.addMember(a.user, a.group, a.via);
    case 'remove-member':
      return accounts.removeMember(a.user, a.group, a.via);
    case 'remove-user':
      await accounts.removeUser(a.user, a.keepHome);
      registry.delete(a.user);
      try { unlinkSync(join(config.cacheDir, 'keys', `${a.user}.json`)); } catch { /* not cached */ }
      return;
  }
}

function describe(a: Action): Record<string, unknown> {
  const { kind, reason, ...rest } = a;
  const fields: Record<string, unknown> = { action: kind, reason, ...rest };
  if (a.kind === 'write-sudoers') delete fields.content;
  return fields;
}

/**
 * The record `keys` trusts: only users that exist here and are ours. With each user's IAM
 * groups, so that `notify-login` (inside every login) decides without calling IAM.
 */
function writeState(config: Config, plan: Plan, created: Set<string>, groupMembers: Record<string, string[]>): void {
  const failedCreates = new Set(plan.actions.filter((a) => a.kind === 'create-user' && !created.has(a.user)).map((a) => (a as { user: string }).user));
  const state: SyncState = {
    version: 1,
    writtenAt: new Date().toISOString(),
    scope: authScope(config),
    users: plan.desired.filter((d) => !failedCreates.has(d.localName)).map((d) => ({
      iamName: d.iamName, localName: d.localName, uid: d.uid, iamUserId: d.iamUserId,
      groups: Object.keys(groupMembers).filter((g) => groupMembers[g]!.includes(d.iamName)).sort(),
    })),
    groupsRead: Object.keys(groupMembers).sort(),
  };
  mkdirSync(config.stateDir, { recursive: true, mode: 0o755 });
  writeFileAtomic(statePath(config.stateDir), JSON.stringify(state) + '\n', 0o644);
}
