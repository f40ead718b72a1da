/**
 * ASSUMEROLE: IAM of another account, read with temporary credentials from STS AssumeRole.
 * The call itself uses the instance's own credentials. The temporary credentials are kept in
 * a file only the running user can read (keys: under CACHE_DIR as the AuthorizedKeysCommandUser;
 * sync: under STATE_DIR as root), and renewed when less than REFRESH_BEFORE_MS is left, so a
 * login pays for AssumeRole about once an hour, not every time.
 */
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/config';
import { writeFileAtomic } from '../util/atomic-file';
import { ROLE_CREDENTIALS_FILE } from '../state/paths';
import { parseJsonObject } from '../state/json';
import { readRegularFile } from '../util/regular-file';
import { clientOptions, loadSdk } from './sdk';

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export const REFRESH_BEFORE_MS = 5 * 60_000;
const DURATION_SECONDS = 3600;

/** `iam-ssh-<host>` in the characters STS accepts, at most 64 of them. */
export function roleSessionName(host: string = hostname()): string {
  return `iam-ssh-${host}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

interface CacheRecord {
  roleArn: string;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

/** The cached credentials when they are ours, for this role and endpoint, and not near expiry. */
function readCachedRoleCredentials(file: string, roleArn: string, endpoint: string, now: number): RoleCredentials | null {
  try {
    const read = readRegularFile(file);
    // Only a file of our own that nobody else can read or have planted.
    if (!read || read.uid !== (process.geteuid?.() ?? 0) || (read.mode & 0o077) !== 0) return null;
    const r = (parseJsonObject(read.text) ?? {}) as Partial<CacheRecord>;
    const fields = [r.roleArn, r.endpoint, r.accessKeyId, r.secretAccessKey, r.sessionToken, r.expiration];
    if (!fields.every((f) => typeof f === 'string')) return null;
    if (r.roleArn !== roleArn || r.endpoint !== endpoint) return null;
    const expiration = new Date(r.expiration!);
    if (!(expiration.getTime() - now > REFRESH_BEFORE_MS)) return null;
    return { accessKeyId: r.accessKeyId!, secretAccessKey: r.secretAccessKey!, sessionToken: r.sessionToken!, expiration };
  } catch {
    return null;
  }
}

export interface RoleCredentialsDeps {
  now?: () => number;
  /** The STS call; the real one by default. */
  assume?: (config: Config) => Promise<RoleCredentials>;
}

/**
 * A credentials provider for the IAM client: from memory, else the cache file in `dir`, else
 * STS (then written back; a cache that cannot be written only costs the next run a call).
 */
export function roleCredentialsProvider(config: Config, dir: string, deps: RoleCredentialsDeps = {}): () => Promise<RoleCredentials> {
  const roleArn = config.assumeRole;
  if (!roleArn) throw new Error('ASSUMEROLE is not set');
  const now = deps.now ?? Date.now;
  const assume = deps.assume ?? assumeRole;
  const file = join(dir, ROLE_CREDENTIALS_FILE);
  const endpoint = config.awsEndpointUrl ?? '';
  let current: RoleCredentials | null = null;
  return async () => {
    if (current && current.expiration.getTime() - now() > REFRESH_BEFORE_MS) return current;
    current = readCachedRoleCredentials(file, roleArn, endpoint, now());
    if (current) return current;
    const fresh = await assume(config);
    const record: CacheRecord = { roleArn, endpoint, ...fresh, expiration: fresh.expiration.toISOString() };
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      writeFileAtomic(file, JSON.stringify(record) + '\n', 0o600);
    } catch {
      /* not writable here: the next process calls STS again */
    }
    current = fresh;
    return fresh;
  };
}

async function assumeRole(config: Config): Promise<RoleCredentials> {
  const sdk = await loadSdk.sts();
  const client = new sdk.STSClient(clientOptions(config, 2));
  try {
    const res = await client.send(
      new sdk.AssumeRoleCommand({ RoleArn: config.assumeRole!, RoleSessionName: roleSessionName(), DurationSeconds: DURATION_SECONDS }),
    );
    const c = res.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) throw new Error('AssumeRole returned no credentials');
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: new Date(c.Expiration) };
  } finally {
    client.destroy();
  }
}
