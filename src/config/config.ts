/**
 * The one typed Config, built once per process from layers (built-in defaults < config file
 * < SSM < instance tags < flags, see ./layers.ts) and passed down; nothing below reads process.env.
 */
import * as v from './values';
import { ConfigError } from './parse';
import { DEFAULT_KEYS_FILE_DIR } from '../keys/file-mode';

/** aws-ec2-ssh's deprecated name of SUDOERS_GROUPS, read as its fallback. */
export const LEGACY_SUDOERS_KEY = 'SUDOERSGROUP';

export interface Config {
  /** The file the settings came from, or null when none was found. */
  file: string | null;
  authorizedGroups: string[];
  /** SSM Parameter Store path whose parameters are a layer of settings; null: none. */
  ssmConfigPath: string | null;
  /** Instance tag keys whose values override IAM_AUTHORIZED_GROUPS / SUDOERS_GROUPS. */
  authorizedGroupsTag: string | null;
  sudoersGroupsTag: string | null;
  /** Instance metadata service (IMDSv2), where the instance's own tags are read. */
  imdsEndpoint: string;
  assumeRole: string | null;
  awsRegion: string;
  awsEndpointUrl: string | null;
  stateDir: string;
  cacheDir: string;
  keysCacheTtlMs: number;
  keysMaxStaleMs: number;
  keysTimeoutMs: number;
  /** Per IAM request; the whole command still stops at keysTimeoutMs. */
  iamRequestTimeoutMs: number;

  // sync
  /** null: sudo not managed; 'all': every synced user; else these IAM groups. */
  sudoersGroups: string[] | 'all' | null;
  localMarkerGroup: string;
  localGroups: string[];
  /** IAM group -> local groups its members join. */
  groupMap: Record<string, string[]>;
  /** Privileged groups (./privileged.ts) the local file lets synced users join. */
  allowPrivilegedGroups: string[];
  useraddProgram: string;
  useraddArgs: string[];
  userdelProgram: string;
  userdelArgs: string[];
  /** USERDEL_ARGS named --remove (aws-ec2-ssh's default): taken out of userdelArgs, and ignored: only removeHome deletes a home. */
  userdelArgsRemove: boolean;
  removeHome: boolean;
  /** What becomes of the names of the aws-ec2-ssh accounts sync adopts: kept, or renamed to iam-ssh's form (the home moved too). */
  adoptedNames: 'keep' | 'rename' | 'rename-home';
  doNotSync: boolean;
  uidMode: 'hash' | 'auto';
  uidMin: number;
  uidMax: number;
  maxRemovals: number;
  sudoLocalGroup: string;
  sudoRule: string;
  sudoersFile: string;
  /** Where Flatcar/CoreOS keep base groups that usermod cannot change. */
  baseGroupFile: string;
  userdbDir: string;
  /** command: sshd runs `keys` per login; file: sync writes one AuthorizedKeysFile per user. */
  keysMode: 'command' | 'file';
  /** In command mode, sync refreshes every managed user's keys cache entry. */
  keysPrefetch: boolean;
  /** Where file mode writes `<local user>` files (root-owned, 0644, directory 0755). */
  keysFileDir: string;
  /** A vendor's AuthorizedKeysCommand (EC2 Instance Connect) that `keys` runs after its own lookup; local file only. */
  keysChainCommand: v.ChainCommand | null;

  // notify-login
  /** IAM groups whose members' logins are reported; 'all': every managed user; []: none. */
  notifyGroups: string[] | 'all';
  /** Local names whose logins are never reported. */
  notifyIgnoreUsers: string[];
  notifyWebhookUrl: string | null;
  notifyEmail: string[];
  /** Hard budget of one notify-login run. */
  notifyTimeoutMs: number;
  sendmailProgram: string;

  // access snapshot (docs/fleet.md)
  /** s3://bucket/key of the signed manifest: sync reads it instead of IAM; publish writes it. */
  snapshotUrl: string | null;
  /** The publisher's KMS signing key: key id, ARN or alias. */
  snapshotKmsKey: string | null;
  /** The instances' pinned verification key: a PEM file; local file only. */
  snapshotPublicKey: string | null;
  /** A snapshot generated longer ago is never applied. */
  snapshotMaxAgeMs: number;
  /** What sync does when the snapshot is stale or refused: nothing more, or read IAM itself. */
  snapshotFallback: 'none' | 'iam';

  // session recording (docs/recording.md)
  /** null: nobody is recorded; 'all': every managed user; else members of these IAM groups. */
  recordGroups: string[] | 'all' | null;
  /** The local group sync keeps for them, which sshd's `Match Group` block names. */
  recordLocalGroup: string;
  /** journald unreachable at the start of a recorded session: refuse it, or run it unrecorded with a warning. */
  recordJournalDown: 'refuse' | 'allow';
  /** Record the data of sessions without a terminal (scp, sftp, rsync, `ssh host cmd`), not only their command and byte counts. */
  recordCommandData: boolean;
  /** Bytes that may wait for a slow journald before data is dropped and a gap recorded. */
  recordBufferBytes: number;
}

type Spec = { [K in keyof Config]?: (value: string) => Config[K] };

/** Config file key -> (Config field, value parser). */
const KEYS: Record<string, { field: keyof Config; parse: (value: string) => unknown }> = {};
function key<K extends keyof Config>(name: string, field: K, parse: NonNullable<Spec[K]>): void {
  KEYS[name] = { field, parse };
}
const SECOND = 1000;
const DAY = 86_400_000;
const sudoersGroups = (s: string) => (s.trim() === '' ? null : s.trim() === '##ALL##' ? ('all' as const) : v.iamGroups(s));
key('IAM_AUTHORIZED_GROUPS', 'authorizedGroups', v.iamGroups);
key('SSM_CONFIG_PATH', 'ssmConfigPath', (s) => (s === '' ? null : v.ssmPath(s)));
key('IAM_AUTHORIZED_GROUPS_TAG', 'authorizedGroupsTag', (s) => (s === '' ? null : v.tagKey(s)));
key('SUDOERS_GROUPS_TAG', 'sudoersGroupsTag', (s) => (s === '' ? null : v.tagKey(s)));
key('IMDS_ENDPOINT', 'imdsEndpoint', v.url);
key('ASSUMEROLE', 'assumeRole', (s) => (s === '' ? null : v.roleArn(s)));
key('AWS_REGION', 'awsRegion', v.region);
key('AWS_ENDPOINT_URL', 'awsEndpointUrl', (s) => (s === '' ? null : v.url(s)));
key('STATE_DIR', 'stateDir', v.absolutePath);
key('CACHE_DIR', 'cacheDir', v.absolutePath);
// Bounds: a revoked key must stop working within a day (TTL) or a week (IAM down); sshd waits
// on KEYS_TIMEOUT, so it stays well under LoginGraceTime; none may overflow a Node timer.
key('KEYS_CACHE_TTL', 'keysCacheTtlMs', v.durationIn(0, DAY));
key('KEYS_MAX_STALE', 'keysMaxStaleMs', v.durationIn(0, 7 * DAY));
key('KEYS_TIMEOUT', 'keysTimeoutMs', v.durationIn(500, 30 * SECOND));
key('IAM_REQUEST_TIMEOUT', 'iamRequestTimeoutMs', v.durationIn(100, 60 * SECOND));
key('SUDOERS_GROUPS', 'sudoersGroups', sudoersGroups);
/** aws-ec2-ssh's deprecated single-group key: the fallback of SUDOERS_GROUPS (see ./layers.ts). */
key(LEGACY_SUDOERS_KEY, 'sudoersGroups', sudoersGroups);
key('LOCAL_MARKER_GROUP', 'localMarkerGroup', v.localGroup);
key('LOCAL_GROUPS', 'localGroups', v.localGroups);
key('GROUP_MAP', 'groupMap', v.groupMap);
key('ALLOW_PRIVILEGED_GROUPS', 'allowPrivilegedGroups', v.localGroups);
key('USERADD_PROGRAM', 'useraddProgram', v.absolutePath);
key('USERADD_ARGS', 'useraddArgs', v.args);
key('USERDEL_PROGRAM', 'userdelProgram', v.absolutePath);
key('USERDEL_ARGS', 'userdelArgs', v.args);
key('REMOVE_HOME', 'removeHome', v.bool);
key('ADOPTED_NAMES', 'adoptedNames', (s) => v.oneOf(s, ['keep', 'rename', 'rename-home'] as const));
key('DONOTSYNC', 'doNotSync', v.bool);
key('UID_MODE', 'uidMode', (s) => v.oneOf(s, ['hash', 'auto'] as const));
key('UID_MIN', 'uidMin', v.integer(1000, 2 ** 31 - 1));
key('UID_MAX', 'uidMax', v.integer(1000, 2 ** 31 - 1));
key('MAX_REMOVALS', 'maxRemovals', v.integer(0, 100_000));
key('SUDO_LOCAL_GROUP', 'sudoLocalGroup', v.localGroup);
key('SUDO_RULE', 'sudoRule', v.sudoRule);
key('SUDOERS_FILE', 'sudoersFile', v.absolutePath);
key('BASE_GROUP_FILE', 'baseGroupFile', v.absolutePath);
key('USERDB_DIR', 'userdbDir', v.absolutePath);
key('KEYS_MODE', 'keysMode', (s) => v.oneOf(s, ['command', 'file'] as const));
key('KEYS_PREFETCH', 'keysPrefetch', v.bool);
key('KEYS_FILE_DIR', 'keysFileDir', v.absolutePath);
key('KEYS_CHAIN_COMMAND', 'keysChainCommand', v.chainCommand);
key('NOTIFY_GROUPS', 'notifyGroups', (s) => (s.trim() === '##ALL##' ? 'all' : v.iamGroups(s)));
key('NOTIFY_IGNORE_USERS', 'notifyIgnoreUsers', v.localUsers);
key('NOTIFY_WEBHOOK_URL', 'notifyWebhookUrl', (s) => (s === '' ? null : v.webhookUrl(s)));
key('NOTIFY_EMAIL', 'notifyEmail', v.emailAddresses);
key('NOTIFY_TIMEOUT', 'notifyTimeoutMs', v.durationIn(500, 30 * SECOND));
key('SENDMAIL_PROGRAM', 'sendmailProgram', v.absolutePath);
key('RECORD_GROUPS', 'recordGroups', sudoersGroups);
key('RECORD_LOCAL_GROUP', 'recordLocalGroup', v.localGroup);
key('RECORD_JOURNAL_DOWN', 'recordJournalDown', (s) => v.oneOf(s, ['refuse', 'allow'] as const));
key('RECORD_COMMAND_DATA', 'recordCommandData', v.bool);
key('RECORD_BUFFER_BYTES', 'recordBufferBytes', v.integer(65_536, 64 * 1_048_576));
key('SNAPSHOT_URL', 'snapshotUrl', (s) => (s === '' ? null : v.s3Url(s)));
key('SNAPSHOT_KMS_KEY', 'snapshotKmsKey', (s) => (s === '' ? null : v.kmsKeyId(s)));
key('SNAPSHOT_PUBLIC_KEY', 'snapshotPublicKey', (s) => (s === '' ? null : v.absolutePath(s)));
key('SNAPSHOT_MAX_AGE', 'snapshotMaxAgeMs', v.durationIn(60 * SECOND, 7 * DAY));
key('SNAPSHOT_FALLBACK', 'snapshotFallback', (s) => v.oneOf(s, ['none', 'iam'] as const));

export function defaults(): Config {
  return {
    file: null,
    authorizedGroups: [],
    ssmConfigPath: null,
    authorizedGroupsTag: null,
    sudoersGroupsTag: null,
    imdsEndpoint: 'http://169.254.169.254',
    assumeRole: null,
    awsRegion: 'us-east-1',
    awsEndpointUrl: null,
    stateDir: '/var/lib/iam-ssh',
    cacheDir: '/var/cache/iam-ssh',
    keysCacheTtlMs: 60_000,
    keysMaxStaleMs: 24 * 3_600_000,
    keysTimeoutMs: 5_000,
    iamRequestTimeoutMs: 2_000,
    sudoersGroups: null,
    localMarkerGroup: 'iam-synced-users',
    localGroups: [],
    groupMap: {},
    allowPrivilegedGroups: [],
    useraddProgram: '/usr/sbin/useradd',
    useraddArgs: ['--user-group', '--create-home', '--shell', '/bin/bash'],
    userdelProgram: '/usr/sbin/userdel',
    userdelArgs: ['--force'],
    userdelArgsRemove: false,
    removeHome: false,
    adoptedNames: 'keep',
    doNotSync: false,
    uidMode: 'hash',
    uidMin: 200_000,
    uidMax: 2_147_483_647,
    maxRemovals: 10,
    sudoLocalGroup: 'iam-ssh-sudo',
    sudoRule: 'ALL=(ALL) NOPASSWD:ALL',
    sudoersFile: '/etc/sudoers.d/iam-ssh',
    baseGroupFile: '/usr/share/baselayout/group',
    userdbDir: '/etc/userdb',
    keysMode: 'command',
    keysPrefetch: false,
    keysFileDir: DEFAULT_KEYS_FILE_DIR,
    keysChainCommand: null,
    notifyGroups: [],
    notifyIgnoreUsers: [],
    notifyWebhookUrl: null,
    notifyEmail: [],
    notifyTimeoutMs: 3_000,
    sendmailProgram: '/usr/sbin/sendmail',
    snapshotUrl: null,
    snapshotKmsKey: null,
    snapshotPublicKey: null,
    snapshotMaxAgeMs: 3_600_000,
    snapshotFallback: 'none',
    recordGroups: null,
    recordLocalGroup: 'iam-ssh-recorded',
    recordJournalDown: 'refuse',
    recordCommandData: false,
    recordBufferBytes: 1_048_576,
  };
}

export interface BuildResult {
  config: Config;
  warnings: string[];
}

export function isKnownKey(name: string): boolean {
  return Object.hasOwn(KEYS, name);
}

export function knownKeys(): string[] {
  return Object.keys(KEYS);
}

/** Edits (insert, delete, substitute, swap two neighbours) between two strings. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known key nearest to an unknown name, when it is within `maxEdits` (default: a third
 * of the name, at least 2), ignoring case; the deprecated key is never suggested.
 */
export function nearestKey(name: string, maxEdits = Math.max(2, Math.floor(name.length / 3))): string | null {
  let best: string | null = null;
  let bestDistance = maxEdits + 1;
  for (const k of Object.keys(KEYS)) {
    if (k === LEGACY_SUDOERS_KEY) continue;
    const dist = editDistance(name.toUpperCase(), k);
    if (dist < bestDistance) [best, bestDistance] = [k, dist];
  }
  return best;
}

/** `unknown key X` and, when one is near, the key probably meant. */
export function unknownKeyMessage(name: string, suggestion: string | null): string {
  return `unknown key ${name}${suggestion ? `; did you mean ${suggestion}?` : ''}`;
}

/** Sets one key's value; throws ConfigError naming where the value came from (`where`, and `line` for a file). */
export function applyEntry(config: Config, name: string, value: string, where: string, line: number | null): void {
  const spec = Object.hasOwn(KEYS, name) ? KEYS[name] : undefined;
  if (!spec) throw new ConfigError(where, line, unknownKeyMessage(name, nearestKey(name)));
  try {
    (config as unknown as Record<string, unknown>)[spec.field] = spec.parse(value);
  } catch (err) {
    throw new ConfigError(where, line, `${name}: ${(err as Error).message}`);
  }
}

/** Rules across keys, checked once after every layer is applied. */
export function checkConfig(c: Config, file: string): void {
  if (c.uidMin > c.uidMax) throw new ConfigError(file, null, 'UID_MIN must not be above UID_MAX');
  // aws-ec2-ssh asked for home removal through USERDEL_ARGS, by default: never a wish to act on
  // (its own --remove deleted homes, its issue #112). Taken out; sync --dry-run says what it would have done.
  const wantsRemove = (a: string) => a === '--remove' || /^-[a-zA-Z]*r[a-zA-Z]*$/.test(a);
  if (c.userdelArgs.some(wantsRemove)) {
    c.userdelArgsRemove = true;
    c.userdelArgs = c.userdelArgs
      .map((a) => (a === '--remove' ? '' : wantsRemove(a) ? a.replace('r', '') : a))
      .filter((a) => a !== '' && a !== '-');
  }
  if (c.keysMaxStaleMs < c.keysCacheTtlMs) throw new ConfigError(file, null, 'KEYS_MAX_STALE must not be shorter than KEYS_CACHE_TTL');
  // Every synced user joins the marker group: as the sudo group, it would give them all sudo.
  if (c.localMarkerGroup === c.sudoLocalGroup) throw new ConfigError(file, null, 'LOCAL_MARKER_GROUP and SUDO_LOCAL_GROUP must be different groups');
  // The recorded group is forced through the recorder: shared with another group, it would record (or, removed, free) the wrong people.
  if (c.recordLocalGroup === c.localMarkerGroup || c.recordLocalGroup === c.sudoLocalGroup) {
    throw new ConfigError(file, null, 'RECORD_LOCAL_GROUP must differ from LOCAL_MARKER_GROUP and SUDO_LOCAL_GROUP');
  }
}
