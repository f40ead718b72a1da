/**
 * This instance's id and region for login notifications, from the instance metadata service
 * (IMDSv2: a PUT for a session token, then GETs with it), cached per boot.
 *
 * The cache (STATE_DIR/instance.json) is keyed by the kernel's boot id: an image made from
 * this disk boots elsewhere with another boot id, so it can never report this instance's id.
 * Only answers are cached; a host where IMDS does not answer asks again at the next login,
 * bounded by the caller's timeout.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import { statePath } from '../state/paths';
import { parseJsonObject } from '../state/json';
import { readInstanceIdentity, INSTANCE_ID } from './imds';
import { isAwsRegion } from '../util/validators';

/** Each request's own limit; the caller's signal bounds the whole read. */
const IMDS_REQUEST_MS = 1000;

export interface InstanceIdentity {
  instanceId: string | null;
  region: string | null;
}

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

export async function instanceIdentity(imdsEndpoint: string, stateDir: string, signal: AbortSignal): Promise<InstanceIdentity> {
  const bootId = readText(BOOT_ID);
  const cachePath = statePath(stateDir, 'instanceIdentity');
  const cached = bootId ? readCache(cachePath, bootId) : null;
  if (cached) return cached;
  const found = await readInstanceIdentity(imdsEndpoint, { timeoutMs: IMDS_REQUEST_MS, signal });
  if (bootId && found.instanceId && process.getuid?.() === 0) {
    try {
      mkdirSync(stateDir, { recursive: true, mode: 0o755 });
      writeFileAtomic(cachePath, JSON.stringify({ bootId, ...found }) + '\n', 0o644);
    } catch { /* a cache only */ }
  }
  return found;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

function readCache(path: string, bootId: string): InstanceIdentity | null {
  try {
    const c = parseJsonObject(readFileSync(path, 'utf8'));
    if (!c || c.bootId !== bootId || typeof c.instanceId !== 'string' || !INSTANCE_ID.test(c.instanceId)) return null;
    return { instanceId: c.instanceId, region: typeof c.region === 'string' && isAwsRegion(c.region) ? c.region : null };
  } catch {
    return null;
  }
}
