/**
 * An instance metadata service (IMDSv2) for what the emulator does not have: instance tags.
 * It holds to the real service's rules that the code relies on: a token from
 * PUT /latest/api/token (with a TTL header) is required on every GET (401 without it), and
 * /latest/meta-data/tags/instance is 404 while metadata tags are not enabled.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';

export class FakeImds {
  /** Tag key -> value of "this instance". */
  tags: Record<string, string> = {};
  tagsEnabled = true;
  instanceId = 'i-0123456789abcdef0';
  /** Every request, as `METHOD path status`. */
  readonly requests: string[] = [];
  private readonly tokens = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeImds> {
    // eslint-disable-next-line prefer-const -- assigned below, once the server exists; the handler runs only after that
    let self!: FakeImds;
    const server = createServer((req, res) => {
      const reply = (status: number, body = '') => {
        self.requests.push(`${req.method} ${req.url} ${status}`);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
      };
      const path = req.url ?? '/';
      if (path === '/latest/api/token') {
        const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
        if (req.method !== 'PUT' || !Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return reply(400);
        const token = randomBytes(16).toString('base64');
        self.tokens.add(token);
        return reply(200, token);
      }
      if (req.method !== 'GET') return reply(405);
      if (!self.tokens.has(String(req.headers['x-aws-ec2-metadata-token'] ?? ''))) return reply(401);
      if (path === '/latest/meta-data/instance-id') return reply(200, self.instanceId);
      if (path === '/latest/meta-data/tags/instance' || path === '/latest/meta-data/tags/instance/') {
        return self.tagsEnabled ? reply(200, Object.keys(self.tags).join('\n')) : reply(404);
      }
      const m = /^\/latest\/meta-data\/tags\/instance\/([^/]+)$/.exec(path);
      if (m && self.tagsEnabled) {
        const key = decodeURIComponent(m[1]!);
        return Object.hasOwn(self.tags, key) ? reply(200, self.tags[key]) : reply(404);
      }
      return reply(404);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    self = new FakeImds(server, `http://127.0.0.1:${port}`);
    return self;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
