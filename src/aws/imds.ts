/**
 * The instance's own tags from instance metadata (IMDSv2), so no ec2:DescribeTags permission
 * and no credentials are needed: a session token from PUT /latest/api/token, then
 * /latest/meta-data/tags/instance[/KEY] with it. Plain node:http, one-second timeouts: the
 * service is on the link-local network or not there at all.
 */
import { request } from 'node:http';

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

function call(base: URL, method: 'GET' | 'PUT', path: string, headers: Record<string, string>, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { protocol: base.protocol, hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port || 80, method, path, headers, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) req.destroy(new Error(`instance metadata ${path}: answer larger than ${MAX_BODY} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`instance metadata ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Reads the named tags of this instance: tag key -> value, or null when the instance has no
 * such tag. Throws TagsNotEnabledError when metadata tags are off, another Error when the
 * service cannot be reached or refuses.
 */
export async function readInstanceTags(endpoint: string, keys: readonly string[], timeoutMs = 1000): Promise<Record<string, string | null>> {
  const base = new URL(endpoint);
  if (base.protocol !== 'http:') throw new Error(`instance metadata endpoint must be http: ${endpoint}`);
  const tokenReply = await call(base, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) }, timeoutMs);
  if (tokenReply.status !== 200 || tokenReply.body === '') throw new Error(`instance metadata token: HTTP ${tokenReply.status}`);
  const auth = { 'X-aws-ec2-metadata-token': tokenReply.body };

  const list = await call(base, 'GET', '/latest/meta-data/tags/instance', auth, timeoutMs);
  if (list.status === 404) throw new TagsNotEnabledError();
  if (list.status !== 200) throw new Error(`instance metadata tags: HTTP ${list.status}`);
  const present = new Set(list.body.split('\n').filter((k) => k !== ''));

  const out: Record<string, string | null> = Object.create(null) as Record<string, string | null>;
  for (const key of keys) {
    if (!present.has(key)) {
      out[key] = null;
      continue;
    }
    const r = await call(base, 'GET', `/latest/meta-data/tags/instance/${encodeURIComponent(key)}`, auth, timeoutMs);
    if (r.status === 404) out[key] = null; // removed between the two reads
    else if (r.status === 200) out[key] = r.body;
    else throw new Error(`instance metadata tag ${key}: HTTP ${r.status}`);
  }
  return out;
}
