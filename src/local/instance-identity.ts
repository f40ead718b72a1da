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
import { request } from 'node:http';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';

export interface InstanceIdentity {
  instanceId: string | null;
  region: string | null;
}

const BOOT_ID = '/proc/sys/kernel/random/boot_id';
const CACHE_FILE = 'instance.json';
const INSTANCE_ID = /^i-[0-9a-f]{8,32}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export async function instanceIdentity(imdsEndpoint: string, stateDir: string, signal: AbortSignal): Promise<InstanceIdentity> {
  const bootId = readText(BOOT_ID);
  const cachePath = join(stateDir, CACHE_FILE);
  const cached = bootId ? readCache(cachePath, bootId) : null;
  if (cached) return cached;
  const base = imdsEndpoint.replace(/\/+$/, '');
  const token = await call('PUT', `${base}/latest/api/token`, { 'X-aws-ec2-metadata-token-ttl-seconds': '60' }, signal);
  const headers = { 'X-aws-ec2-metadata-token': token };
  const [id, region] = await Promise.all([
    call('GET', `${base}/latest/meta-data/instance-id`, headers, signal),
    call('GET', `${base}/latest/meta-data/placement/region`, headers, signal),
  ]);
  const found = { instanceId: INSTANCE_ID.test(id) ? id : null, region: REGION.test(region) ? region : null };
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
    const c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    if (c.bootId !== bootId || typeof c.instanceId !== 'string' || !INSTANCE_ID.test(c.instanceId)) return null;
    return { instanceId: c.instanceId, region: typeof c.region === 'string' && REGION.test(c.region) ? c.region : null };
  } catch {
    return null;
  }
}

/** One IMDS request; IMDS is plain http on a link-local address. Rejects on any non-200. */
function call(method: 'GET' | 'PUT', url: string, headers: Record<string, string>, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > 4096) req.destroy(new Error('IMDS answer too long'));
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`IMDS ${method} ${new URL(url).pathname}: HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
