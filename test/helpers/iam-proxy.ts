/**
 * An HTTP proxy in front of the emulator that counts AWS calls by Action and can make
 * chosen calls fail the way AWS does (Throttling), hang, or answer HTTP 200 without an element
 * a complete answer has, which the emulator cannot do.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FaultRule {
  action: string;
  /** Only when the request has this parameter value, e.g. { GroupName: 'devs' }. */
  when?: Record<string, string>;
  /**
   * `drop-element`: the emulator's answer, with `element` (and all it holds) cut out;
   * `empty-result`: HTTP 200 with the operation's envelope around an empty result.
   */
  fault: 'throttle' | 'hang' | 'error500' | 'denied' | 'drop-element' | 'empty-result';
  /** For drop-element: the XML element to remove, e.g. 'Users'. */
  element?: string;
}

/** `xml` without the element `name`, whether empty (`<Users/>`) or with content. */
export function dropElement(xml: string, name: string): string {
  if (!/^[A-Za-z]+$/.test(name)) throw new Error(`not an element name: ${name}`);
  return xml.replace(new RegExp(`<${name}(\\s[^>]*)?/>|<${name}(\\s[^>]*)?>[\\s\\S]*?</${name}>`, 'g'), '');
}

/** A well-formed answer of `action` whose result holds nothing, as a broken service or proxy might send. */
function emptyResult(action: string): string {
  return `<${action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><${action}Result></${action}Result><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></${action}Response>`;
}

const DENIED = `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/test/i-0 is not authorized to perform this action</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;
const THROTTLE = `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** One call as it arrived: its Action and the access key id that signed it. */
export interface SignedCall {
  action: string;
  accessKeyId: string;
}

export class IamProxy {
  readonly counts: Record<string, number> = {};
  /** Every call in order, with the signing access key id (from the SigV4 Authorization header). */
  readonly signed: SignedCall[] = [];
  rules: FaultRule[] = [];
  /** A Date header to answer with instead of the current time, as from a server whose clock differs from ours. */
  dateHeader: string | null = null;
  /** Added before each answer, like a real network round trip, so that concurrent callers overlap. */
  delayMs = 0;
  private hanging = new Set<() => void>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<IamProxy> {
    // eslint-disable-next-line prefer-const -- assigned below, once the server exists; the handler runs only after that
    let self!: IamProxy;
    const server = createServer(async (req, res) => {
      const raw = await body(req);
      const params = new URLSearchParams(raw.toString('utf8'));
      // S3 speaks REST: its calls are counted by method (S3.GET, S3.PUT).
      const action = params.get('Action') ?? (req.headers['x-amz-target'] ? String(req.headers['x-amz-target']).split('.').pop()! : `S3.${req.method}`);
      self.counts[action] = (self.counts[action] ?? 0) + 1;
      const credential = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''));
      self.signed.push({ action, accessKeyId: credential?.[1] ?? '' });
      if (self.delayMs > 0) await new Promise((r) => setTimeout(r, self.delayMs));
      const rule = self.rules.find((r) => r.action === action && Object.entries(r.when ?? {}).every(([k, v]) => params.get(k) === v));
      if (rule?.fault === 'throttle') {
        res.writeHead(400, { 'content-type': 'text/xml' }).end(THROTTLE);
        return;
      }
      if (rule?.fault === 'denied') {
        res.writeHead(403, { 'content-type': 'text/xml' }).end(DENIED);
        return;
      }
      if (rule?.fault === 'empty-result') {
        res.writeHead(200, { 'content-type': 'text/xml' }).end(emptyResult(action));
        return;
      }
      if (rule?.fault === 'error500') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return;
      }
      if (rule?.fault === 'hang') {
        const release = () => res.destroy();
        self.hanging.add(release);
        res.on('close', () => self.hanging.delete(release));
        return;
      }
      try {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
        const upstream = await fetch(target + (req.url ?? '/'), { method: req.method, headers, body: raw.length ? raw : undefined });
        let out = Buffer.from(await upstream.arrayBuffer());
        if (rule?.fault === 'drop-element' && upstream.ok) out = Buffer.from(dropElement(out.toString('utf8'), rule.element ?? ''), 'utf8');
        const etag = upstream.headers.get('etag');
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/xml', ...(etag ? { etag } : {}), ...(self.dateHeader ? { date: self.dateHeader } : {}) }).end(out);
      } catch (e) {
        res.writeHead(502).end(String(e));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    self = new IamProxy(server, `http://127.0.0.1:${port}`);
    return self;
  }

  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  resetCounts(): void {
    for (const k of Object.keys(this.counts)) delete this.counts[k];
    this.signed.length = 0;
  }

  async stop(): Promise<void> {
    for (const release of this.hanging) release();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
