/** Finds and reads the config file. */
import { readFileSync, existsSync } from 'node:fs';
import { parseConfigText, ConfigError, type ConfigEntry } from './parse';
import type { BuildResult } from './config';
import { buildConfig } from './layers';
import { errnoText } from '../util/errno';

export const DEFAULT_CONFIG = '/etc/iam-ssh.conf';
/** aws-ec2-ssh's file, read when ours is absent so that a fleet migrates by swapping binaries. */
export const LEGACY_CONFIG = '/etc/aws-ec2-ssh.conf';

/** The config file found and its entries; `file` is null when none exists. */
export interface ConfigFileRead {
  file: string | null;
  entries: ConfigEntry[];
  warnings: string[];
}

/**
 * Finds and parses the config file. An explicitly named file must exist; without one, the
 * default file, then the legacy file, then none (built-in defaults).
 */
export function readConfigFile(explicitFile: string | undefined): ConfigFileRead {
  let file: string | null = null;
  if (explicitFile) {
    if (!existsSync(explicitFile)) throw new ConfigError(explicitFile, null, 'config file not found');
    file = explicitFile;
  } else if (existsSync(DEFAULT_CONFIG)) file = DEFAULT_CONFIG;
  else if (existsSync(LEGACY_CONFIG)) file = LEGACY_CONFIG;
  if (file === null) return { file, entries: [], warnings: [`no ${DEFAULT_CONFIG} or ${LEGACY_CONFIG}; using built-in defaults`] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, null, `cannot read: ${errnoText(e)}`);
  }
  return { file, entries: parseConfigText(text, file), warnings: [] };
}

/** Loads the config from the file alone (no remote layers). */
export function loadConfig(explicitFile: string | undefined): BuildResult {
  const read = readConfigFile(explicitFile);
  const built = buildConfig(read.file, read.entries);
  return { config: built.config, warnings: [...read.warnings, ...built.warnings] };
}
