/**
 * Settings come in layers, later ones winning: built-in defaults < config file < SSM Parameter
 * Store < instance tags < command-line flags. This module is the one place that orders them,
 * maps SSM parameter names and tag values to keys, and decides what each source may set.
 */
import { applyEntry, checkConfig, defaults, isKnownKey, type BuildResult, type Config } from './config';
import { ConfigError, type ConfigEntry } from './parse';

export type LayerKind = 'file' | 'ssm' | 'tags' | 'flags';

export interface LayerEntry {
  key: string;
  value: string;
  /** Where the value came from, for messages: a file name, `ssm:/iam-ssh/prod/KEY`, `tag:Name`. */
  source: string;
  /** Line in the file, for file entries. */
  line: number | null;
}

export interface ConfigLayer {
  kind: LayerKind;
  /** The file, the SSM path, `tags` or `flags`. */
  source: string;
  entries: LayerEntry[];
  /** For the file layer: the config file, null when there is none (built-in defaults). */
  file?: string | null;
}

/**
 * The keys SSM may set: fleet policy (who logs in, who gets sudo, UIDs, timeouts). Everything
 * else comes only from the root-owned local file, because it decides where iam-ssh reads or
 * writes (STATE_DIR, CACHE_DIR, SUDOERS_FILE, USERDB_DIR, BASE_GROUP_FILE), which program runs
 * with which arguments (USERADD_*, USERDEL_*), which endpoint, region or account it trusts
 * (AWS_*, IMDS_ENDPOINT, ASSUMEROLE, SSM_CONFIG_PATH, the *_TAG keys), which local accounts and
 * groups count as its own (LOCAL_MARKER_GROUP, SUDO_LOCAL_GROUP), or destroys local data
 * (REMOVE_HOME). Write access to a parameter should not amount to choosing a program that
 * root runs. An allow-list, so that a key added later stays local until someone decides.
 */
export const SSM_SETTABLE: ReadonlySet<string> = new Set([
  'IAM_AUTHORIZED_GROUPS', 'SUDOERS_GROUPS', 'LOCAL_GROUPS', 'GROUP_MAP', 'DONOTSYNC', 'UID_MODE', 'UID_MIN', 'UID_MAX',
  'MAX_REMOVALS', 'SUDO_RULE', 'KEYS_CACHE_TTL', 'KEYS_MAX_STALE', 'KEYS_TIMEOUT', 'IAM_REQUEST_TIMEOUT',
]);

const where = (e: LayerEntry) => (e.line === null ? e.source : `${e.source}:${e.line}`);

/** Applies the layers in order over the defaults; throws ConfigError naming the source of a bad value. */
export function buildLayered(layers: ConfigLayer[]): BuildResult {
  const config: Config = defaults();
  const warnings: string[] = [];
  for (const layer of layers) {
    if (layer.kind === 'file') config.file = layer.file ?? null;
    for (const e of layer.entries) {
      if (layer.kind === 'ssm' && isKnownKey(e.key) && !SSM_SETTABLE.has(e.key)) {
        warnings.push(`${where(e)}: ${e.key} can only be set in the local config file; ignored`);
        continue;
      }
      if (!applyEntry(config, e.key, e.value, e.source, e.line)) warnings.push(`${where(e)}: unknown key ${e.key} ignored`);
    }
  }
  checkConfig(config, config.file ?? '(config)');
  return { config, warnings };
}

export function fileLayer(file: string | null, entries: ConfigEntry[]): ConfigLayer {
  return { kind: 'file', source: file ?? '(defaults)', file, entries: entries.map((e) => ({ key: e.key, value: e.value, source: file ?? '(config)', line: e.line })) };
}

/** The config from a file's entries alone; throws ConfigError naming file and line. */
export function buildConfig(file: string | null, entries: ConfigEntry[]): BuildResult {
  return buildLayered([fileLayer(file, entries)]);
}

export interface SsmParameter {
  name: string;
  value: string;
  /** String, StringList or SecureString. */
  type: string;
}

const KEY_NAME = /^[A-Z][A-Z0-9_]*$/;

/**
 * Parameters under `path` become entries: `/iam-ssh/prod/IAM_AUTHORIZED_GROUPS` sets
 * IAM_AUTHORIZED_GROUPS. A name that is not a key is a warning; a SecureString (we would get
 * its ciphertext) or a value with control characters is an error.
 */
export function ssmLayer(path: string, parameters: SsmParameter[]): { layer: ConfigLayer; warnings: string[] } {
  const warnings: string[] = [];
  const entries: LayerEntry[] = [];
  for (const p of [...parameters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const source = `ssm:${p.name}`;
    const key = p.name.startsWith(path) ? p.name.slice(path.length) : '';
    if (!KEY_NAME.test(key)) {
      warnings.push(`${source}: not a setting name under ${path} (expected ${path}KEY_NAME); ignored`);
      continue;
    }
    if (p.type === 'SecureString') throw new ConfigError(source, null, `${key}: SecureString parameters are not read; store settings as String`);
    if (/[\0-\x1f\x7f]/.test(p.value)) throw new ConfigError(source, null, `${key}: control characters (a line break?) in the value`);
    entries.push({ key, value: p.value, source, line: null });
  }
  return { layer: { kind: 'ssm', source: `ssm:${path}`, entries }, warnings };
}

/** The tag keys the config names, in a fixed order. */
export function wantedTags(c: Config): string[] {
  return [...new Set([c.authorizedGroupsTag, c.sudoersGroupsTag].filter((t): t is string => t !== null))];
}

/**
 * Tag values (null: the instance has no such tag) become IAM_AUTHORIZED_GROUPS and
 * SUDOERS_GROUPS. An absent tag leaves the lower layers' value, as aws-ec2-ssh did.
 */
export function tagLayer(c: Config, tags: Readonly<Record<string, string | null>>): { layer: ConfigLayer; warnings: string[] } {
  const warnings: string[] = [];
  const entries: LayerEntry[] = [];
  const add = (tag: string | null, key: string) => {
    if (tag === null) return;
    const value = Object.hasOwn(tags, tag) ? tags[tag] : null;
    const source = `tag:${tag}`;
    if (value === null || value === undefined) {
      warnings.push(`${source}: this instance has no such tag; ${key} from the lower layers applies`);
      return;
    }
    // An empty IAM_AUTHORIZED_GROUPS means every IAM user: never widen access that far from a tag.
    if (key === 'IAM_AUTHORIZED_GROUPS' && value.trim() === '') throw new ConfigError(source, null, `${key}: empty tag value would authorize every IAM user; name the groups`);
    if (/[\0-\x1f\x7f]/.test(value)) throw new ConfigError(source, null, `${key}: control characters in the tag value`);
    entries.push({ key, value, source, line: null });
  };
  add(c.authorizedGroupsTag, 'IAM_AUTHORIZED_GROUPS');
  add(c.sudoersGroupsTag, 'SUDOERS_GROUPS');
  return { layer: { kind: 'tags', source: 'tags', entries }, warnings };
}
