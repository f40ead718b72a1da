/**
 * The one way a command gets its Config: the local file, then the remote layers (SSM
 * parameters, instance tags), then flags.
 *
 * `fetch` (sync, as root, off the login path) reads SSM and instance metadata, keeps the result
 * as the last good one, and falls back to it with a warning when a read fails; with nothing to
 * fall back on it refuses (RemoteConfigError) rather than run with the wrong groups.
 * `cached` (keys, on the login path) never touches the network or the SDK: it uses the last
 * good result on disk, and refuses when the config names a remote layer that is not there.
 */
import type { Config } from './config';
import { loadConfig, readConfigFile } from './load';
import { buildLayered, fileLayer, ssmLayer, tagLayer, wantedTags, type BuildOptions, type ConfigLayer, type LayerEntry, type SsmParameter } from './layers';
import { readSudoersGroups, SUDOERS } from './host-sudoers';
import { readRemoteSnapshot, writeRemoteSnapshot, type RemoteSnapshot } from '../state/remote-config';
import { errText, type Logger } from '../util/log';

/** The network reads; supplied by the caller so that this module never reaches the SDK. */
export interface RemoteReaders {
  ssmParameters(config: Config, path: string): Promise<SsmParameter[]>;
  /** Tag key -> value (null: no such tag). Throws an error named TagsNotEnabledError when metadata tags are off. */
  instanceTags(config: Config, keys: string[]): Promise<Record<string, string | null>>;
}

export interface ResolveOptions {
  /** An explicitly named config file (flag or IAM_SSH_CONFIG). */
  file: string | undefined;
  flags?: LayerEntry[];
  remote: 'fetch' | 'cached';
  log: Logger;
  deps?: {
    /** Required for 'fetch'. */
    readers?: RemoteReaders;
    /** Keep a successful fetch as the last good result (false for a dry run). Default true. */
    save?: boolean;
    now?: () => Date;
    /** The sudoers file whose %groups count as privileged, read by 'fetch' (sync). Default /etc/sudoers. */
    sudoersFile?: string;
  };
}

export type RemoteSource = 'none' | 'fetched' | 'cached' | 'stale';

export interface Resolved {
  config: Config;
  warnings: string[];
  /** Where each remote layer came from this time. */
  remote: { ssm: RemoteSource; tags: RemoteSource };
}

/** A remote layer is configured but neither a read nor the last good result can supply it. */
export class RemoteConfigError extends Error {
  override name = 'RemoteConfigError';
}

export async function resolveConfig(opts: ResolveOptions): Promise<Resolved> {
  const read = readConfigFile(opts.file);
  const base = fileLayer(read.file, read.entries);
  const flags: ConfigLayer = { kind: 'flags', source: 'flags', entries: opts.flags ?? [] };
  // sync changes group membership, so it also refuses groups the host's sudoers grants; keys
  // changes none and, as its own user, could not read sudoers anyway.
  const build: BuildOptions = opts.remote === 'fetch' ? { privileged: readSudoersGroups(opts.deps?.sudoersFile ?? SUDOERS) } : {};
  // The keys that say what to read remotely are local-only, so the file and flags settle them.
  const local = buildLayered([base, flags], build).config;
  const path = local.ssmConfigPath;
  const tagKeys = wantedTags(local);
  if (path === null && tagKeys.length === 0) {
    const built = buildLayered([base, flags], build);
    return { config: built.config, warnings: [...read.warnings, ...built.warnings], remote: { ssm: 'none', tags: 'none' } };
  }

  const { snapshot: lastGood, problem } = readRemoteSnapshot(local.stateDir);
  if (problem) opts.log.log('warn', 'config.remote_cache_ignored', { problem });
  const now = opts.deps?.now ?? (() => new Date());
  const readers = opts.deps?.readers;
  if (opts.remote === 'fetch' && !readers) throw new Error('resolveConfig: fetch needs remote readers');

  let ssm: RemoteSnapshot['ssm'] = null;
  let ssmSource: RemoteSource = 'none';
  if (path !== null) {
    const cached = lastGood?.ssm?.path === path ? lastGood.ssm : null;
    if (opts.remote === 'cached') {
      if (!cached) throw new RemoteConfigError(`SSM_CONFIG_PATH ${path}: no settings read from SSM on disk yet (iam-ssh sync reads them)`);
      [ssm, ssmSource] = [cached, 'cached'];
    } else {
      try {
        ssm = { path, fetchedAt: now().toISOString(), parameters: await readers!.ssmParameters(local, path) };
        ssmSource = 'fetched';
      } catch (e) {
        if (!cached) throw new RemoteConfigError(`cannot read SSM parameters under ${path}, and no earlier result is on disk: ${errText(e)}`);
        opts.log.log('warn', 'config.remote_stale', { source: `ssm:${path}`, lastGood: cached.fetchedAt, error: errText(e) });
        [ssm, ssmSource] = [cached, 'stale'];
      }
    }
  }

  let tags: RemoteSnapshot['tags'] = null;
  let tagsSource: RemoteSource = 'none';
  if (tagKeys.length > 0) {
    const cached = lastGood?.tags && tagKeys.every((k) => Object.hasOwn(lastGood.tags!.values, k)) ? lastGood.tags : null;
    if (opts.remote === 'cached') {
      if (!cached) throw new RemoteConfigError(`instance tags ${tagKeys.join(', ')}: not read yet (iam-ssh sync reads them)`);
      [tags, tagsSource] = [cached, 'cached'];
    } else {
      try {
        tags = { fetchedAt: now().toISOString(), values: await readers!.instanceTags(local, tagKeys) };
        tagsSource = 'fetched';
      } catch (e) {
        // Tags switched off is a setting of the instance, not an outage: say so, do not mask it.
        if ((e as Error).name === 'TagsNotEnabledError' || !cached) throw new RemoteConfigError(`cannot read instance tags ${tagKeys.join(', ')}: ${errText(e)}`);
        opts.log.log('warn', 'config.remote_stale', { source: `tags:${tagKeys.join(',')}`, lastGood: cached.fetchedAt, error: errText(e) });
        [tags, tagsSource] = [cached, 'stale'];
      }
    }
  }

  const layers: ConfigLayer[] = [base];
  const warnings = [...read.warnings];
  if (ssm) {
    const s = ssmLayer(ssm.path, ssm.parameters);
    layers.push(s.layer);
    warnings.push(...s.warnings);
  }
  if (tags) {
    const t = tagLayer(local, tags.values);
    layers.push(t.layer);
    warnings.push(...t.warnings);
  }
  layers.push(flags);
  const built = buildLayered(layers, build);
  warnings.push(...built.warnings);

  // Only a result that built into a valid Config becomes the last good one.
  if (opts.remote === 'fetch' && (opts.deps?.save ?? true) && (ssmSource === 'fetched' || tagsSource === 'fetched')) {
    try {
      writeRemoteSnapshot(local.stateDir, { version: 1, ssm, tags });
    } catch (e) {
      opts.log.log('warn', 'config.remote_save_failed', { error: errText(e) });
    }
  }
  return { config: built.config, warnings, remote: { ssm: ssmSource, tags: tagsSource } };
}

/**
 * For commands that report rather than decide access (doctor, notify-login): the config as
 * `keys` sees it, or, when sync has not kept the remote layers yet, the file alone with a
 * warning. A login notification is better sent with the file's settings than not at all.
 */
export async function resolveForReport(file: string | undefined, log: Logger): Promise<{ config: Config; warnings: string[] }> {
  try {
    return await resolveConfig({ file, remote: 'cached', log });
  } catch (e) {
    if (!(e instanceof RemoteConfigError)) throw e;
    const built = loadConfig(file);
    return { config: built.config, warnings: [...built.warnings, `${e.message}; using the config file alone`] };
  }
}
