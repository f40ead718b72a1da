/**
 * `iam-ssh sync`: read IAM, read this host, plan, apply. Each applied change is one log line;
 * one failing change is reported and the others go on.
 */
import type { CommandModule } from 'yargs';
import { mkdirSync } from 'node:fs';
import type { Config } from '../config/config';
import { resolveConfig, RemoteConfigError } from '../config/resolve';
import { awsRemoteReaders } from '../aws/remote-readers';
import { stderrLogger, errText, type Logger } from '../util/log';
import { writeFileAtomic } from '../util/atomic-file';
import { plan as makePlan, type DesiredUser, type Plan, type PlanSettings } from './plan';
import { applyPlan, usersInPlace } from './apply';
import { KeysCache } from '../keys/cache';
import { asCacheOwner } from '../state/cache-access';
import { formatPlan, planJson } from './plan-format';
import { authScope } from '../keys/cache-entry';
import { createIamDirectory } from '../aws/iam';
import { readIamSnapshot } from './iam-snapshot';
import { Accounts } from './accounts';
import { Registry } from './registry';
import { readSudoers, writeSudoers } from './sudoers';
import { acquireRunLock } from '../state/run-lock';
import { syncStatePath, readSyncState, type SyncState } from '../state/sync-state';
import { callStats } from '../aws/call-stats';
import { syncUserKeys, managedNames, syncStatsText } from './user-keys';
import { exec } from '../platform/exec';
import { writeLastSync, type LastSync } from '../state/last-sync';
import { snapshotSource, type SnapshotSource } from './snapshot-source';

export interface SyncOptions {
  configFile: string | undefined;
  dryRun: boolean;
  json: boolean;
  force: boolean;
  lockWaitMs: number;
  /** Print the AWS calls of the run (stdout; stderr with --json). */
  stats?: boolean;
}

const EXIT = { ok: 0, incomplete: 1, usage: 2, refused: 3, busy: 4 } as const;

const JSON_NEEDS_DRY_RUN = '--json prints the plan of --dry-run and needs it; a run that applies reports each change as a JSON line on stderr (sync.change, sync.change_failed, sync.done)';

export async function runSync(opts: SyncOptions): Promise<number> {
  if (opts.json && !opts.dryRun) {
    // Refused before anything is read: a script that asked for the plan must never apply it.
    process.stderr.write(`iam-ssh: ${JSON_NEEDS_DRY_RUN}\nRun 'iam-ssh sync --help' for usage.\n`);
    return EXIT.usage;
  }
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
      // Not a success: a timer unit whose runs keep finding the lock held shows a stuck run.
      log.log('error', 'sync.skipped', { reason: `another sync (pid ${lock.heldBy}) held the run lock past --wait` });
      return EXIT.busy;
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

function planSettings(c: Config): PlanSettings {
  return {
    authorizedGroups: c.authorizedGroups, sudoersGroups: c.sudoersGroups, markerGroup: c.localMarkerGroup,
    localGroups: c.localGroups, groupMap: c.groupMap, sudoLocalGroup: c.sudoLocalGroup, sudoRule: c.sudoRule,
    uidMode: c.uidMode, uidMin: c.uidMin, uidMax: c.uidMax, maxRemovals: c.maxRemovals, removeHome: c.removeHome,
    adoptedNames: c.adoptedNames, userdelArgsRemove: c.userdelArgsRemove,
    recordGroups: c.recordGroups, recordLocalGroup: c.recordLocalGroup,
  };
}

async function syncLocked(config: Config, opts: SyncOptions, log: Logger): Promise<number> {
  const started = Date.now();
  // SNAPSHOT_URL: the fleet's signed snapshot stands in for IAM; nothing after this line differs.
  const source = await snapshotSource(config, log, opts.dryRun);
  if (source.kind === 'not-modified' || source.kind === 'stop') return snapshotUnchanged(config, opts, log, source, started);
  const iam = source.kind === 'snapshot' ? source.iam : await createIamDirectory(config);
  const via = source.kind === 'snapshot' ? { source: 'snapshot', serial: source.serial } : {};
  const calls = () => callStats({ iam: iam.calls, s3: source.s3Calls ?? undefined });
  const { snapshot, errors } = await readIamSnapshot(iam, config);

  const accounts = new Accounts(config, exec);
  const registry = new Registry(config.stateDir);
  const local = { ...(await accounts.snapshot()), registry: registry.all(), sudoersContent: readSudoers(config.sudoersFile) };
  const plan = makePlan(snapshot, local, planSettings(config), opts.force);
  // One line per notice, as sync.<code>; a failed IAM read's line also carries the error (one line per failure).
  for (const n of plan.notices) {
    const error = n.group !== undefined && Object.hasOwn(errors, n.group) ? { error: errors[n.group] } : {};
    log.log(n.level, `sync.${n.code}`, { message: n.message, ...(n.user ? { user: n.user } : {}), ...(n.iamName ? { iamUser: n.iamName } : {}), ...(n.group ? { group: n.group } : {}), ...error });
  }

  if (opts.dryRun) {
    process.stdout.write(opts.json ? planJson(plan) : formatPlan(plan));
    if (opts.stats) (opts.json ? process.stderr : process.stdout).write(syncStatsText(calls(), null));
    return exitCode(plan, 0);
  }

  const applied = await applyPlan(plan, {
    accounts,
    registry,
    writeSudoers: (content) => writeSudoers(config.sudoersFile, content, exec),
    // As the cache's owner: a link planted in CACHE_DIR must not make root unlink elsewhere.
    forgetKeys: (user) => void asCacheOwner(config.cacheDir, () => new KeysCache(config.cacheDir).forget(user)),
  }, log);
  const { failures } = applied;
  const inPlace = usersInPlace(plan, applied);
  // File mode / prefetch: per-user key reads, after the accounts exist and before the state names them.
  // Key files of users who left go when the authorized groups were read completely, like their accounts.
  // With a snapshot, sync fills the keys cache for every user: `keys` then never calls IAM.
  const keysConfig = source.kind === 'snapshot' ? { ...config, keysPrefetch: true } : config;
  const keys = await syncUserKeys(keysConfig, iam, inPlace, managedNames(local, plan, readSyncState(config.stateDir), config.localMarkerGroup), plan.accessComplete, log, source.kind === 'snapshot' ? source.serial : undefined);
  const keyFailures = keys?.failed.length ?? 0;
  // The record follows the authorized groups alone: a failed sudo, GROUP_MAP or NOTIFY_GROUPS read
  // must not freeze the member list `keys` trusts (the failed group is left out of groupsRead).
  if (plan.accessComplete) writeState(config, inPlace, snapshot.groupMembers);
  const counts = Object.fromEntries(['create-user', 'remove-user', 'add-member', 'remove-member', 'create-group', 'write-sudoers', 'adopt-user', 'rename-user', 'remove-legacy-sudoers'].map((k) => [k, plan.actions.filter((a) => a.kind === k).length]));
  // A refusal (removals withheld) is a warning too: it must stand out from a quiet success.
  log.log(failures || keyFailures || !plan.complete || plan.stranded.length || plan.removalsWithheld ? 'warn' : 'info', 'sync.done', {
    complete: plan.complete && keyFailures === 0, changes: plan.actions.length - failures, failures, planned: counts,
    users: plan.desired.length, removalsWithheld: plan.removalsWithheld, failedGroups: snapshot.failed, recorded: plan.accessComplete,
    stranded: plan.stranded, ...via, calls: calls(), ...(keys ? { keys: { ...keys, failed: keyFailures } } : {}),
    durationMs: Date.now() - started,
  });
  if (opts.stats) process.stdout.write(syncStatsText(calls(), keys));
  const code = exitCode(plan, failures + keyFailures);
  // Accepted (its serial is the floor now); its ETag kept only when all of it was applied.
  if (source.kind === 'snapshot') source.record(code === EXIT.ok);
  recordLastSync(config, log, { exitCode: code, complete: plan.complete && keyFailures === 0, changes: plan.actions.length - failures, failures, durationMs: Date.now() - started });
  return code;
}

/** A 304 (nothing to do), or a stale or refused snapshot without fallback (nothing done, exit 1). */
function snapshotUnchanged(config: Config, opts: SyncOptions, log: Logger, source: Extract<SnapshotSource, { kind: 'not-modified' | 'stop' }>, started: number): number {
  const ok = source.kind === 'not-modified';
  const calls = callStats({ s3: source.s3Calls });
  if (ok) {
    log.log('info', 'sync.done', { complete: true, changes: 0, failures: 0, source: 'snapshot', serial: source.serial, notModified: true, calls, durationMs: Date.now() - started });
  }
  if (opts.dryRun) {
    const text = ok ? `snapshot serial ${source.serial} not modified: no changes\n` : `snapshot not used: ${source.reason}\n`;
    process.stdout.write(opts.json ? JSON.stringify(ok ? { snapshot: { serial: source.serial, notModified: true }, actions: [] } : { snapshot: { refused: source.reason } }) + '\n' : text);
  } else {
    recordLastSync(config, log, { exitCode: ok ? EXIT.ok : EXIT.incomplete, complete: ok, changes: 0, failures: ok ? 0 : 1, durationMs: Date.now() - started });
  }
  if (opts.stats) (opts.json ? process.stderr : process.stdout).write(syncStatsText(calls, null));
  return ok ? EXIT.ok : EXIT.incomplete;
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
  // A managed account outside UID_MIN..UID_MAX is a settings error: never a quiet success.
  if (!plan.complete || failures > 0 || plan.stranded.length > 0) return EXIT.incomplete;
  if (plan.removalsWithheld) return EXIT.refused;
  return EXIT.ok;
}

/**
 * The record `keys` trusts: only users that exist here and are ours. With each user's IAM
 * groups, so that `notify-login` (inside every login) decides without calling IAM.
 */
function writeState(config: Config, inPlace: readonly DesiredUser[], groupMembers: Record<string, string[]>): void {
  const state: SyncState = {
    version: 1,
    writtenAt: new Date().toISOString(),
    scope: authScope(config),
    users: inPlace.map((d) => ({
      iamName: d.iamName, localName: d.localName, uid: d.uid, iamUserId: d.iamUserId,
      groups: Object.keys(groupMembers).filter((g) => groupMembers[g]!.includes(d.iamName)).sort(),
    })),
    groupsRead: Object.keys(groupMembers).sort(),
  };
  mkdirSync(config.stateDir, { recursive: true, mode: 0o755 });
  writeFileAtomic(syncStatePath(config.stateDir), JSON.stringify(state) + '\n', 0o644);
}

interface SyncArgs {
  config?: string;
  'dry-run': boolean;
  json: boolean;
  force: boolean;
  wait: number;
  stats: boolean;
}

export function syncCommand(configFromEnv: string | undefined): CommandModule<object, SyncArgs> {
  return {
    command: 'sync',
    describe: 'create, update and remove local users, groups and sudo rights from IAM group membership',
    builder: (y) =>
      y
        .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and change nothing' })
        .option('json', { type: 'boolean', default: false, describe: 'with --dry-run: print the plan as JSON (without --dry-run: a usage error; an applied run reports as JSON lines on stderr)' })
        .option('force', { type: 'boolean', default: false, describe: 'allow removing more than MAX_REMOVALS users, or every managed user' })
        .option('wait', { type: 'number', default: 30, describe: 'seconds to wait for a running sync before skipping' })
        .option('stats', { type: 'boolean', default: false, describe: 'print the AWS calls of this run, by service and action' })
        .epilogue(
          'Exit status: 0 in sync; 1 an IAM read or a change failed (what depends on a failed read was not removed), ' +
            'or managed accounts are outside UID_MIN..UID_MAX; ' +
            '2 bad config or usage; 3 removals refused by MAX_REMOVALS or the empty-result guard; 4 another sync held the run lock past --wait.',
        ) as never,
    handler: async (args) => {
      process.exitCode = await runSync({
        configFile: args.config ?? configFromEnv, dryRun: args['dry-run'], json: args.json, force: args.force, lockWaitMs: Math.max(0, args.wait) * 1000, stats: args.stats,
      });
    },
  };
}
