/**
 * The publisher's Config in AWS Lambda: the function's environment variables, read with the
 * config file's key table and validators, so that a setting means the same in
 * /etc/iam-ssh.conf, on an admin host's timer and in the function.
 */
import { nearestKey, isKnownKey, unknownKeyMessage, type BuildResult } from '../config/config';
import { buildLayered, type LayerEntry } from '../config/layers';
import { ConfigError } from '../config/parse';

const SOURCE = 'environment';

/** A function can write only under /tmp; these are the defaults there, unless the environment sets them. */
const LAMBDA_DEFAULTS: Record<string, string> = { STATE_DIR: '/tmp/iam-ssh/state', CACHE_DIR: '/tmp/iam-ssh/cache' };

/** Variables of the runtime and the SDK: never ours, so never a near miss of ours either. */
const FOREIGN = /^(AWS_|LAMBDA_|_)/;

export function configFromEnvironment(env: Readonly<Record<string, string | undefined>>): BuildResult {
  const entries: LayerEntry[] = Object.entries(LAMBDA_DEFAULTS).map(([key, value]) => ({ key, value, source: '(Lambda default)', line: null }));
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value === undefined) continue;
    if (!isKnownKey(name)) {
      // A typo (IAM_AUTHORISED_GROUPS) would otherwise publish with the default silently.
      const near = FOREIGN.test(name) ? null : nearestKey(name, 2);
      if (near !== null) throw new ConfigError(SOURCE, null, unknownKeyMessage(name, near));
      continue;
    }
    if (/[\0-\x1f\x7f]/.test(value)) throw new ConfigError(SOURCE, null, `${name}: control characters (a line break?) in the value`);
    entries.push({ key: name, value, source: SOURCE, line: null });
  }
  return buildLayered([{ kind: 'file', source: SOURCE, file: null, entries }]);
}
