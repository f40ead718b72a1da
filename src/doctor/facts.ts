/**
 * What `doctor` knows about a host, gathered once by adapters (./gather-host.ts,
 * ./gather-aws.ts) and judged by pure check functions. Plain data, so that every
 * check can be tested from a table of facts.
 */
import type { SnapshotState } from '../state/snapshot-state';
import type { LastSync } from '../state/last-sync';
import type { LegacyScan } from '../install/legacy-text';

export type Status = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable identifier, e.g. `host-keys`; scripts key on it. */
  id: string;
  status: Status;
  summary: string;
  /** What to do about a warning or failure: a command where one exists. */
  fix?: string;
}

/** lstat of one path; `missing` with the errno code when it cannot be read. */
export type PathFact =
  | { path: string; missing: true; error: string }
  | { path: string; missing: false; kind: 'file' | 'dir' | 'symlink' | 'other'; uid: number; gid: number; mode: number; groupName?: string };

export interface UserFact {
  name: string;
  uid: number;
  /** Primary and supplementary groups. */
  gids: number[];
}

/** `sshd -T` output as keyword -> values (a keyword such as hostkey may repeat). */
export type SshdSettings = Record<string, string[]>;

/** sshd's systemd unit as read for `sshd -T`: its `-o` options come before every config file. */
export type SshdServiceFact = { unit: string; options: string[] } | { error: string };

export type SshdFact =
  | { ran: false; reason: string }
  | { ran: true; exitCode: number; stderr: string; probeUser: string; settings: SshdSettings; service?: SshdServiceFact };

export type ScheduleFact =
  | { kind: 'systemd'; unit: string; enabled: string; active: string }
  | { kind: 'cron'; file: PathFact; content: string | null }
  | { kind: 'none'; reason: string };

export type AwsFailureKind = 'denied' | 'not-found' | 'throttled' | 'unreachable' | 'no-credentials' | 'other';

export interface AwsFailure {
  ok: false;
  kind: AwsFailureKind;
  message: string;
}

export type AwsResult<T> = ({ ok: true } & T) | AwsFailure;

export interface AwsFacts {
  endpoint: string | null;
  identity: AwsResult<{ arn: string; account: string }>;
  /** Date header of an AWS response and the local time it was read; null when none arrived. */
  serverDate: { header: string; localMs: number } | null;
  /** GetGroup per authorized group; one `*` entry (ListUsers) when every IAM user is authorized. */
  groups: { group: string; result: AwsResult<{ members: string[] }> }[];
  /** ListSSHPublicKeys (and GetSSHPublicKey of the first key) on one member; null when there is none. */
  memberKeys: { user: string; list: AwsResult<{ keyIds: string[] }>; get: AwsResult<object> | null } | null;
  /** GetParametersByPath on SSM_CONFIG_PATH; null when it is not set. */
  ssm: { path: string; result: AwsResult<{ count: number }> } | null;
}

/** statfs of a directory that holds login records; an error when it could not be read. */
export type LogSpaceFact = { path: string; sizeBytes: number; availBytes: number } | { path: string; error: string };

export interface LogsFact {
  /** The journal's directory and /var/log, one entry per filesystem. */
  space: LogSpaceFact[];
  /** Where journald keeps the journal and its size settings for that place (null: the default); null when journald is not running. */
  journald: { dir: string; maxUse: string | null; keepFree: string | null } | null;
}

export interface DoctorFacts {
  now: number;
  isRoot: boolean;
  keysMode: 'command' | 'file';
  /** KEYS_FILE_DIR: where file mode writes one file per user. */
  keysFileDir: string;
  /** Where this executable is, to recognise our own AuthorizedKeysCommand. */
  selfPath: string;
  /** `searched`: the files looked for, in order, when none was named (file null: none exists). */
  config: { file: string | null; error: string | null; stat: PathFact | null; searched?: readonly string[] };
  sshd: SshdFact;
  /** The AuthorizedKeysCommand program resolved as sshd does (realpath), then each directory up to /. */
  commandPath: { program: string; resolved: string | null; error: string | null; chain: PathFact[] } | null;
  /** The AuthorizedKeysCommandUser (or the expected `iam-ssh` when sshd did not say), null entry when absent. */
  commandUser: { name: string; entry: UserFact | null };
  /** KEYS_CHAIN_COMMAND and its program resolved as keys checks it before running it; null when not set. */
  chain: { command: string; path: { program: string; resolved: string | null; error: string | null; chain: PathFact[] } } | null;
  hostKeys: PathFact[];
  stateDir: PathFact;
  cacheDir: PathFact;
  schedule: ScheduleFact;
  /** What aws-ec2-ssh left on the host, as install scans it (install/legacy.ts). */
  legacy: LegacyScan;
  lastSync: LastSync | 'absent' | 'invalid';
  /** SNAPSHOT_URL: what this host accepted last, and whether the pinned key loads; absent when not set. */
  snapshot?: { url: string; maxAgeMs: number; state: SnapshotState | null; publicKeyError: string | null };
  /** How often the timer runs sync; a last run older than 3 intervals is stale. */
  syncIntervalMs: number;
  logs: LogsFact;
  /** null: AWS was not asked (bad config). */
  aws: AwsFacts | null;
}

