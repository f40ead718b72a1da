/**
 * An HTTP proxy in front of the emulator that counts every AWS call by service and operation:
 * IAM and STS (query protocol, `Action`), KMS (JSON protocol, `X-Amz-Target`) and S3 (REST:
 * the method and the path), and S3's answers by status (a conditional GET that S3 answers
 * 304). Answers pass through unchanged, headers included (S3's ETag). For the access snapshot's
 * tests and the fleet bench, where one endpoint serves every client.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export type Service = 'iam' | 'sts' | 'kms' | 's3' | 'other';

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The service that signed the request, from SigV4's credential scope (…/region/SERVICE/aws4_request). */
function signedService(req: IncomingMessage): string {
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
}

/** The operation of one request. S3 is told apart by its path and method; the others name it. */
export function classify(method: string, url: string, headers: IncomingMessage['headers'], raw: Buffer, scope: string): { service: Service; operation: string } {
  const target = String(headers['x-amz-target'] ?? '');
  if (target.startsWith('TrentService.')) return { service: 'kms', operation: target.slice('TrentService.'.length) };
  if (scope === 'iam' || scope === 'sts') {
    const action = new URLSearchParams(raw.toString('utf8')).get('Action') ?? 'unknown';
    return { service: scope, operation: action };
  }
  if (scope === 's3') {
    const u = new URL(url, 'http://x');
    const parts = u.pathname.split('/').filter(Boolean);
    const onObject = parts.length >= 2;
    const op = method === 'GET' ? (onObject ? 'GetObject' : u.searchParams.has('list-type') ? 'ListObjectsV2' : 'GetBucket')
      : method === 'PUT' ? (onObject ? 'PutObject' : 'CreateBucket')
        : method === 'HEAD' ? (onObject ? 'HeadObject' : 'HeadBucket')
          : method === 'DELETE' ? (onObject ? 'DeleteObject' : 'DeleteBucket') : method;
    return { service: 's3', operation: op };
  }
  return { service: 'other', operation: target || method };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding']);

export class AwsCountingProxy {
  /** `service:Operation` -> calls, e.g. `s3:GetObject`, `iam:GetGroup`, `kms:Sign`. */
  readonly counts: Record<string, number> = {};
  /** S3 answers by `Operation status`, e.g. `GetObject 304`. */
  readonly s3Statuses: Record<string, number> = {};
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<AwsCountingProxy> {
    // eslint-disable-next-line prefer-const -- assigned below, once the server exists; the handler runs only after that
    let self!: AwsCountingProxy;
    const server = createServer(async (req, res) => {
      const raw = await body(req);
      const { service, operation } = classify(req.method ?? 'GET', req.url ?? '/', req.headers, raw, signedService(req));
      const name = `${service}:${operation}`;
      self.counts[name] = (self.counts[name] ?? 0) + 1;
      try {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
        const upstream = await fetch(target + (req.url ?? '/'), { method: req.method, headers, body: raw.length ? raw : undefined });
        const out = Buffer.from(await upstream.arrayBuffer());
        if (service === 's3') self.s3Statuses[`${operation} ${upstream.status}`] = (self.s3Statuses[`${operation} ${upstream.status}`] ?? 0) + 1;
        const back: Record<string, string> = {};
        upstream.headers.forEach((v, k) => {
          if (!HOP_BY_HOP.has(k)) back[k] = v;
        });
        res.writeHead(upstream.status, { ...back, 'content-length': String(out.length) }).end(req.method === 'HEAD' ? undefined : out);
      } catch (e) {
        res.writeHead(502).end(String(e));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    self = new AwsCountingProxy(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Calls to one service, by operation. */
  of(service: Service): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, n] of Object.entries(this.counts)) if (k.startsWith(`${service}:`)) out[k.slice(service.length + 1)] = n;
    return out;
  }

  total(service?: Service): number {
    return Object.entries(this.counts).filter(([k]) => !service || k.startsWith(`${service}:`)).reduce((a, [, n]) => a + n, 0);
  }

  resetCounts(): void {
    for (const k of Object.keys(this.counts)) delete this.counts[k];
    for (const k of Object.keys(this.s3Statuses)) delete this.s3Statuses[k];
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
