/** Finds and reads the config file. */
import { readFileSync, existsSync } from 'node:fs';
import { parseConfigText, ConfigError } from './parse';
import { buildConfig, defaults, type BuildResult } from './config';

export const DEFAULT_CONFIG = '/etc/iam-ssh.conf';
/** aws-ec2-ssh's file, read when ours is absent so that a fleet migrates by swapping binaries. */
export const LEGACY_CONFIG = '/etc/aws-ec2-ssh.conf';

/**
 * Loads the config. An explicitly named file must exist; without one, the default file,
 * then the legacy file, then built-in defaults are used.
 */
export function loadConfig(explicitFile: string | undefined): BuildResult {
  let file: string | null = null;
  if (explicitFile) {
    if (!existsSync(explicitFile)) throw new ConfigError(explicitFile, null, 'config file not found');
    file = explicitFile;
  } else if (existsSync(DEFAULT_CONFIG)) file = DEFAULT_CONFIG;
  else if (existsSync(LEGACY_CONFIG)) file = LEGACY_CONFIG;
  if (file === null) return { config: defaults(), warnings: [`no ${DEFAULT_CONFIG} or ${LEGACY_CONFIG}; using built-in defaults`] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, null, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return buildConfig(file, parseConfigText(text, file));
}
