/**
 * The instance metadata service (IMDSv2), one client for everything iam-ssh reads from it:
 * a session token from PUT /latest/api/token, then GETs with it. No credentials and no
 * ec2:DescribeTags permission are needed. Plain node:http with short timeouts: the service is
 * on the link-local network or not there at all.
 */
import { request } from 'node:http';
import { isAwsRegion } from '../util/validators';

const TOKEN_TTL_SECONDS = 60;
const MAX_BODY = 64 * 1024;

/** Instance metadata answers, but tags are not enabled in its options for this instance. */
export class TagsNotEnabledError extends Error {
  override name = 'TagsNotEnabledError';
  constructor() {
    super('instance metadata tags are not enabled: aws ec2 modify-instance-metadata-options --instance-id <id> --instance-metadata-tags enabled');
  }
}

interface Reply {
  status: number;
  body: string;
}

/** Each request is bounded by `timeoutMs`, and the whole session by `signal` when given. */
export interface ImdsLimits {
  timeoutMs: number;
  signal?: AbortSignal;
}

function call(base: URL, method: 'GET' | 'PUT', path: string, headers: Record<string, string>, limits: ImdsLimits): Promise<Reply> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const signal = limits.signal ? AbortSignal.any([limits.signal, timeout]) : timeout;
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers, signal }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        if (body.length > MAX_BODY) req.destroy(new Error(`instance metadata ${path}: answer larger than ${MAX_BODY} bytes`));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(timeout.aborted ? new Error(`instance metadata ${path}: no answer within ${limits.timeoutMs} ms`) : e));
    req.end();
  });
}

/** A session: the token is fetched once, then `get` answers with status and body. */
async function imdsSession(endpoint: string, limits: ImdsLimits): Promise<(path: string) => Promise<Reply>> {
  const base = new URL(endpoint);
  if (base.protocol !== 'http:') throw new Error(`instance metadata endpoint must be http: ${endpoint}`);
  const token = await call(base, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) }, limits);
  if (token.status !== 200 || token.body === '') throw new Error(`instance metadata token: HTTP ${token.status}`);
  const auth = { 'X-aws-ec2-metadata-token': token.body };
  return (path) => call(base, 'GET', path, auth, limits);
}

/**
 * Reads the named tags of this instance: tag key -> value, or null when the instance has no
 * such tag. Throws TagsNotEnabledError when metadata tags are off, another Error when the
 * service cannot be reached or refuses.
 */
export async function readInstanceTags(endpoint: string, keys: readonly string[], timeoutMs = 1000): Promise<Record<string, string | null>> {
  const get = await imdsSession(endpoint, { timeoutMs });
  const list = await get('/latest/meta-data/tags/instance');
  if (list.status === 404) throw new TagsNotEnabledError();
  if (list.status !== 200) throw new Error(`instance metadata tags: HTTP ${list.status}`);
  const present = new Set(list.body.split('\n').filter((k) => k !== ''));

  const out: Record<string, string | null> = Object.create(null) as Record<string, string | null>;
  for (const key of keys) {
    if (!present.has(key)) {
      out[key] = null;
      continue;
    }
    const r = await get(`/latest/meta-data/tags/instance/${encodeURIComponent(key)}`);
    if (r.status === 404) out[key] = null; // removed between the two reads
    else if (r.status === 200) out[key] = r.body;
    else throw new Error(`instance metadata tag ${key}: HTTP ${r.status}`);
  }
  return out;
}

/** The instance id and region, each null when the answer is not of the expected form. */
export async function readInstanceIdentity(endpoint: string, limits: ImdsLimits): Promise<{ instanceId: string | null; region: string | null }> {
  const get = await imdsSession(endpoint, limits);
  const text = async (path: string) => {
    const r = await get(path);
    if (r.status !== 200) throw new Error(`instance metadata ${path}: HTTP ${r.status}`);
    return r.body.trim();
  };
  const [id, region] = await Promise.all([text('/latest/meta-data/instance-id'), text('/latest/meta-data/placement/region')]);
  return { instanceId: INSTANCE_ID.test(id) ? id : null, region: isAwsRegion(region) ? region : null };
}

export const INSTANCE_ID = /^i-[0-9a-f]{8,32}$/;
