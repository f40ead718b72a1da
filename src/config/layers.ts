/**
 * Settings come in layers, later ones winning: built-in defaults < config file < SSM Parameter
 * Store < instance tags < command-line flags. This module is the one place that orders them,
 * maps SSM parameter names and tag values to keys, and decides what each source may set.
 */
import { applyEntry, checkConfig, defaults, isKnownKey, nearestKey, unknownKeyMessage, LEGACY_SUDOERS_KEY, type BuildResult, type Config } from './config';
import { ConfigError, type ConfigEntry } from './parse';
import { PRIVILEGED_GROUPS } from './privileged';

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
 * (REMOVE_HOME), or is the host's own consent (ALLOW_PRIVILEGED_GROUPS, aws-ec2-ssh's SUDOERSGROUP).
 * Write access to a parameter should not amount to choosing a program that root runs; the keys
 * here are bounded so that it does not amount to root either (SUDO_RULE's grammar, no privileged
 * group in LOCAL_GROUPS or GROUP_MAP). An allow-list, so that a key added later stays local until
 * someone decides; docs/configuration.md gives the reason per key (a test keeps the two in step).
 */
export const SSM_SETTABLE: ReadonlySet<string> = new Set([
  'IAM_AUTHORIZED_GROUPS', 'SUDOERS_GROUPS', 'LOCAL_GROUPS', 'GROUP_MAP', 'DONOTSYNC', 'UID_MODE', 'UID_MIN', 'UID_MAX',
  'MAX_REMOVALS', 'SUDO_RULE', 'KEYS_CACHE_TTL', 'KEYS_MAX_STALE', 'KEYS_TIMEOUT', 'IAM_REQUEST_TIMEOUT',
  // Where the fleet's access snapshot is, how old it may be, whether to read IAM when it fails: a
  // snapshot still needs the signature of the key pinned in the local file (SNAPSHOT_PUBLIC_KEY).
  'SNAPSHOT_URL', 'SNAPSHOT_MAX_AGE', 'SNAPSHOT_FALLBACK',
]);

const where = (e: LayerEntry) => (e.line === null ? e.source : `${e.source}:${e.line}`);

export interface BuildOptions {
  /** Further privileged groups: those the host's sudoers names (group -> the file), read by sync. */
  privileged?: ReadonlyMap<string, string>;
}

type SetBy = Map<string, { entry: LayerEntry; kind: LayerKind }>;

/** Applies the layers in order over the defaults; throws ConfigError naming the source of a bad value. */
export function buildLayered(layers: ConfigLayer[], opts: BuildOptions = {}): BuildResult {
  const config: Config = defaults();
  const warnings: string[] = [];
  const setBy: SetBy = new Map();
  for (const layer of layers) {
    if (layer.kind === 'file') config.file = layer.file ?? null;
    let legacy: LayerEntry | null = null;
    let sudoersGroups: LayerEntry | null = null;
    for (const e of layer.entries) {
      if (!isKnownKey(e.key)) {
        // A typo in the file is the host's to fix: refused. SSM serves a fleet that may run a
        // newer version with keys this one lacks, so there only a near miss of a known key is.
        const near = nearestKey(e.key, layer.kind === 'ssm' ? 2 : undefined);
        if (layer.kind !== 'ssm' || near !== null) throw new ConfigError(e.source, e.line, unknownKeyMessage(e.key, near));
        warnings.push(`${where(e)}: unknown key ${e.key} ignored`);
        continue;
      }
      if (layer.kind === 'ssm' && !SSM_SETTABLE.has(e.key)) {
        warnings.push(`${where(e)}: ${e.key} can only be set in the local config file; ignored`);
        continue;
      }
      if (e.key === LEGACY_SUDOERS_KEY) {
        legacy = e;
        continue;
      }
      if (e.key === 'SUDOERS_GROUPS') sudoersGroups = e;
      applyEntry(config, e.key, e.value, e.source, e.line);
      setBy.set(e.key, { entry: e, kind: layer.kind });
    }
    // aws-ec2-ssh: `: ${SUDOERS_GROUPS:="${SUDOERSGROUP}"}`, the old key when the new one is unset or empty.
    if (legacy && (sudoersGroups === null || sudoersGroups.value.trim() === '')) {
      applyEntry(config, LEGACY_SUDOERS_KEY, legacy.value, legacy.source, legacy.line);
      warnings.push(`${where(legacy)}: ${LEGACY_SUDOERS_KEY} is deprecated; read as SUDOERS_GROUPS (rename it)`);
    } else if (legacy) warnings.push(`${where(legacy)}: ${LEGACY_SUDOERS_KEY} is deprecated and ignored: SUDOERS_GROUPS is set`);
  }
  checkConfig(config, config.file ?? '(config)');
  checkPrivilegedGroups(config, setBy, opts.privileged ?? new Map());
  return { config, warnings };
}

/** Why a group is privileged, or null. */
function privilege(c: Config, group: string, host: ReadonlyMap<string, string>): string | null {
  if (group === c.sudoLocalGroup) return 'SUDO_LOCAL_GROUP: the sudoers line iam-ssh writes grants it; give sudo with SUDOERS_GROUPS';
  return PRIVILEGED_GROUPS.get(group) ?? (host.has(group) ? `a %${group} rule in ${host.get(group)}` : null);
}

/**
 * The groups synced users join (the marker group, LOCAL_GROUPS, the local side of GROUP_MAP)
 * hold no privileged group unless the local file (or a flag) set them and ALLOW_PRIVILEGED_GROUPS
 * names that group. From SSM, never.
 */
function checkPrivilegedGroups(c: Config, setBy: SetBy, host: ReadonlyMap<string, string>): void {
  const joined: [string, string[]][] = [['LOCAL_MARKER_GROUP', [c.localMarkerGroup]], ['LOCAL_GROUPS', c.localGroups], ['GROUP_MAP', Object.values(c.groupMap).flat()]];
  for (const [key, groups] of joined) {
    const set = setBy.get(key);
    if (!set) continue; // the built-in default
    for (const g of new Set(groups)) {
      const why = privilege(c, g, host);
      if (why === null) continue;
      const refused = `${key}: ${g} is a privileged group (${why})`;
      if (set.kind === 'ssm' || set.kind === 'tags') throw new ConfigError(set.entry.source, set.entry.line, `${refused}; privileged groups can only be set in the local config file`);
      if (!c.allowPrivilegedGroups.includes(g)) {
        const allow = [...c.allowPrivilegedGroups, g].join(',');
        throw new ConfigError(set.entry.source, set.entry.line, `${refused}; to let synced users join it, add ALLOW_PRIVILEGED_GROUPS=${allow} to ${c.file ?? 'the config file'}`);
      }
    }
  }
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
