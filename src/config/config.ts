/**
 * The one typed Config, built once per process from layers
 * (built-in defaults < config file < flags) and passed down; nothing below reads process.env.
 */
import * as v from './values';
import { ConfigError, type ConfigEntry } from './parse';

export interface Config {
  /** The file the settings came from, or null when none was found. */
  file: string | null;
  authorizedGroups: string[];
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
}

type Spec = { [K in keyof Config]?: (value: string) => Config[K] };

/** Config file key -> (Config field, value parser). */
const KEYS: Record<string, { field: keyof Config; parse: (value: string) => unknown }> = {};
function key<K extends keyof Config>(name: string, field: K, parse: NonNullable<Spec[K]>): void {
  KEYS[name] = { field, parse };
}
key('IAM_AUTHORIZED_GROUPS', 'authorizedGroups', v.iamGroups);
key('ASSUMEROLE', 'assumeRole', (s) => (s === '' ? null : v.roleArn(s)));
key('AWS_REGION', 'awsRegion', v.region);
key('AWS_ENDPOINT_URL', 'awsEndpointUrl', (s) => (s === '' ? null : v.url(s)));
key('STATE_DIR', 'stateDir', v.absolutePath);
key('CACHE_DIR', 'cacheDir', v.absolutePath);
key('KEYS_CACHE_TTL', 'keysCacheTtlMs', v.duration);
key('KEYS_MAX_STALE', 'keysMaxStaleMs', v.duration);
key('KEYS_TIMEOUT', 'keysTimeoutMs', v.duration);
key('IAM_REQUEST_TIMEOUT', 'iamRequestTimeoutMs', v.duration);

/**
 * Keys of aws-ec2-ssh's file that a later command of ours reads; accepted without a warning
 * so that the predecessor's config file is read as it is.
 */
const LATER_KEYS = new Set([
  'IAM_AUTHORIZED_GROUPS_TAG', 'SUDOERS_GROUPS', 'SUDOERS_GROUPS_TAG', 'LOCAL_MARKER_GROUP', 'LOCAL_GROUPS',
  'USERADD_PROGRAM', 'USERADD_ARGS', 'USERDEL_PROGRAM', 'USERDEL_ARGS', 'DONOTSYNC',
]);

export function defaults(): Config {
  return {
    file: null,
    authorizedGroups: [],
    assumeRole: null,
    awsRegion: 'us-east-1',
    awsEndpointUrl: null,
    stateDir: '/var/lib/iam-ssh',
    cacheDir: '/var/cache/iam-ssh',
    keysCacheTtlMs: 60_000,
    keysMaxStaleMs: 24 * 3_600_000,
    keysTimeoutMs: 5_000,
    iamRequestTimeoutMs: 2_000,
  };
}

export interface BuildResult {
  config: Config;
  warnings: string[];
}

/** Applies file entries over the defaults; throws ConfigError naming file and line. */
export function buildConfig(file: string | null, entries: ConfigEntry[]): BuildResult {
  const config = defaults();
  config.file = file;
  const warnings: string[] = [];
  for (const e of entries) {
    const spec = KEYS[e.key];
    if (!spec) {
      if (!LATER_KEYS.has(e.key)) warnings.push(`${file}:${e.line}: unknown key ${e.key} ignored`);
      continue;
    }
    try {
      (config as unknown as Record<string, unknown>)[spec.field] = spec.parse(e.value);
    } catch (err) {
      throw new ConfigError(file ?? '(config)', e.line, `${e.key}: ${(err as Error).message}`);
    }
  }
  check(config, file ?? '(config)');
  return { config, warnings };
}

function check(c: Config, file: string): void {
  if (c.assumeRole) {
    throw new ConfigError(file, null, 'ASSUMEROLE (cross-account IAM) is not supported by this version; remove it or upgrade');
  }
  if (c.keysTimeoutMs < 500) throw new ConfigError(file, null, 'KEYS_TIMEOUT must be at least 500ms');
  if (c.keysMaxStaleMs < c.keysCacheTtlMs) throw new ConfigError(file, null, 'KEYS_MAX_STALE must not be shorter than KEYS_CACHE_TTL');
}
