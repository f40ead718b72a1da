/**
 * End to end: break-glass login notifications. A real sshd with UsePAM yes runs
 * `iam-ssh notify-login` from pam_exec (the line `iam-ssh install --notify-groups` puts into
 * /etc/pam.d/sshd), after install's first sync against moto; a local HTTP server is the webhook, another stands in for
 * IMDS, and a listener on journald's stream socket receives the journal records.
 */
import { createServer, type Server, type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { Sshd, makeClientKey, sshLogin, prepareCommandUser, type ClientKey } from '../helpers/sshd';
import { FakeJournal } from '../helpers/journal';
import { freePort } from '../helpers/moto';
import { notifyRule } from '../../src/install/pam';

const BUDGET_MS = 2000;
const INSTALLED = '/usr/local/bin/iam-ssh';

/** An HTTP server on loopback that records POST bodies, or (hang) accepts and never answers. */
async function listen(handler: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

rootSuite('notify-login from PAM', () => {
  let env: SyncEnv;
  let keyDir: string;
  let admin: ClientKey;
  let dev: ClientKey;
  let robot: ClientKey;
  let ids: Record<string, string[]>;
  let sshd: Sshd;
  let journal: FakeJournal;
  const posts: { path: string; body: Record<string, unknown> }[] = [];
  const servers: Server[] = [];
  let hookPort: number;
  let hangPort: number;
  let imdsPort: number;

  const settings = (webhook: string, extra: Record<string, string> = {}) => env.config({
    IAM_AUTHORIZED_GROUPS: 'ssh-users', NOTIFY_GROUPS: 'break-glass', NOTIFY_IGNORE_USERS: 'robot',
    NOTIFY_WEBHOOK_URL: webhook, NOTIFY_TIMEOUT: `${BUDGET_MS}ms`, IMDS_ENDPOINT: `http://127.0.0.1:${imdsPort}`, ...extra,
  });

  beforeAll(async () => {
    const hook = await listen((req, body, res) => {
      posts.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
      res.end('ok');
    });
    const hang = await listen(() => { /* never answers */ });
    const imds = await listen((req, _body, res) => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('TOKEN');
      if (req.headers['x-aws-ec2-metadata-token'] !== 'TOKEN') return void (res.statusCode = 401, res.end());
      if (req.url === '/latest/meta-data/instance-id') return res.end('i-0123456789abcdef0');
      if (req.url === '/latest/meta-data/placement/region') return res.end('eu-west-1');
      res.statusCode = 404;
      res.end();
    });
    servers.push(hook.server, hang.server, imds.server);
    [hookPort, hangPort, imdsPort] = [hook.port, hang.port, imds.port];

    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-e2e-'));
    [admin, dev, robot] = [await makeClientKey(keyDir, 'admin'), await makeClientKey(keyDir, 'dev'), await makeClientKey(keyDir, 'robot')];
    ids = await env.moto.seed({
      groups: ['ssh-users', 'break-glass'],
      users: [
        { name: 'Grace.Hopper@Navy.example', groups: ['ssh-users', 'break-glass'], keys: [{ body: dev.publicLine }, { body: admin.publicLine }] },
        { name: 'Linus', groups: ['ssh-users'], keys: [{ body: dev.publicLine }] },
        { name: 'Robot', groups: ['ssh-users', 'break-glass'], keys: [{ body: robot.publicLine }] },
      ],
    });
    await settings(`http://127.0.0.1:${hookPort}/hook`);
    await prepareCommandUser(env.ns);
    // install adds the pam_exec hook (NOTIFY_GROUPS names a group) and runs the first sync; the
    // settings above that have no flag (webhook timeout, metadata endpoint) stay in the file.
    const r = await env.ns.exec(BIN_IN_NS, ['install', '--notify-groups', 'break-glass', '--notify-ignore-users', 'robot', '--scheduler', 'none'], { env: AWS_ENV, timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`install failed: ${r.stdout}${r.stderr}`);
    expect(await env.ns.readFile('/etc/pam.d/sshd')).toContain(notifyRule(INSTALLED));
    journal = await FakeJournal.start(env.ns);
    sshd = await Sshd.start(env.ns, [
      'UsePAM yes', 'AuthorizedKeysFile none',
      `AuthorizedKeysCommand ${BIN_IN_NS} keys %u %f`, 'AuthorizedKeysCommandUser iam-ssh',
    ]);
  });

  afterAll(async () => {
    await env?.stop();
    for (const s of servers) { s.closeAllConnections(); s.close(); }
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    posts.length = 0;
    journal?.clear();
  });

  test('a break-glass login makes exactly one POST naming user, IAM user, key and remote host', async () => {
    // The second key of the IAM user is the one that logs in: the key id must be that one.
    const r = await sshLogin(sshd.port, 'grace.hopper.at.navy.example', admin, ['id', '-un']);
    expect(r.stdout).toBe('grace.hopper.at.navy.example\n');
    await new Promise((res) => setTimeout(res, 300)); // a second, late POST would show here
    expect(posts).toHaveLength(1);
    const body = posts[0]!.body;
    expect(posts[0]!.path).toBe('/hook');
    expect(body).toMatchObject({
      event: 'login', user: 'grace.hopper.at.navy.example', iamUser: 'Grace.Hopper@Navy.example', rhost: '127.0.0.1',
      service: 'sshd', keyId: ids['Grace.Hopper@Navy.example']![1], instanceId: 'i-0123456789abcdef0', region: 'eu-west-1',
    });
    expect(body.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(String(body.text)).toContain('IAM user: Grace.Hopper@Navy.example');

    // The journald record, under the identifier iam-ssh, at warning level (pam_exec's stderr is /dev/null).
    const rec = await journal.waitFor('notify.login');
    expect(rec).toHaveLength(1);
    expect(rec[0]).toMatchObject({ level: 4, record: { user: 'grace.hopper.at.navy.example', iamUser: 'Grace.Hopper@Navy.example', keyId: ids['Grace.Hopper@Navy.example']![1], rhost: '127.0.0.1' } });
    expect((await journal.waitFor('notify.sent')).map((e) => e.record.channel)).toEqual(['webhook']);
    // sshd's own line names the same fingerprint: that is how a session maps to an IAM key.
    expect(sshd.output).toContain(`Accepted publickey for grace.hopper.at.navy.example from 127.0.0.1`);
    expect(sshd.output).toContain(String(body.fingerprint));
  });

  test('an ignored user and a user outside the notify groups produce no POST', async () => {
    expect((await sshLogin(sshd.port, 'robot', robot, ['true'])).code).toBe(0);
    expect((await sshLogin(sshd.port, 'linus', dev, ['true'])).code).toBe(0);
    await new Promise((res) => setTimeout(res, 300));
    expect(posts).toHaveLength(0);
    expect(journal.events('notify.login')).toHaveLength(0);
  });

  test('an unreachable webhook does not fail the login; the failure is in the journal', async () => {
    const closed = await freePort();
    await settings(`http://127.0.0.1:${closed}/hook`);
    try {
      const r = await sshLogin(sshd.port, 'grace.hopper.at.navy.example', admin, ['id', '-un']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('grace.hopper.at.navy.example\n');
      expect(await journal.waitFor('notify.login')).toHaveLength(1);
      expect((await journal.waitFor('notify.failed'))[0]?.record).toMatchObject({ channel: 'webhook', host: `127.0.0.1:${closed}` });
    } finally {
      await settings(`http://127.0.0.1:${hookPort}/hook`);
    }
  });

  test('a webhook that never answers delays the login by no more than the budget', async () => {
    const baseline = await sshLogin(sshd.port, 'linus', dev, ['true']);
    await settings(`http://127.0.0.1:${hangPort}/hook`);
    try {
      const r = await sshLogin(sshd.port, 'grace.hopper.at.navy.example', admin, ['id', '-un']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('grace.hopper.at.navy.example\n');
      // A functional bound, not a benchmark: the budget plus a generous margin for a loaded machine.
      expect(r.ms - baseline.ms).toBeLessThan(BUDGET_MS + 1500);
      expect((await journal.waitFor('notify.failed'))[0]?.record).toMatchObject({ channel: 'webhook' });
    } finally {
      await settings(`http://127.0.0.1:${hookPort}/hook`);
    }
  });

  test('mail goes to sendmail as arguments and a message on stdin, never through a shell', async () => {
    // A stand-in MTA that records its argv and its input.
    await env.ns.writeFile('/usr/local/sbin/fake-sendmail', '#!/bin/sh\n{ for a in "$@"; do printf "arg:%s\\n" "$a"; done; cat; } > /run/sendmail.out\n', '0755');
    await settings(`http://127.0.0.1:${hookPort}/hook`, { NOTIFY_EMAIL: 'oncall@example.com,sec@example.com', SENDMAIL_PROGRAM: '/usr/local/sbin/fake-sendmail' });
    try {
      expect((await sshLogin(sshd.port, 'grace.hopper.at.navy.example', admin, ['true'])).code).toBe(0);
      expect((await journal.waitFor('notify.sent')).map((e) => e.record.channel).sort()).toEqual(['mail', 'webhook']);
      const mail = await env.ns.readFile('/run/sendmail.out');
      expect(mail).toMatch(/^arg:-oi\narg:--\narg:oncall@example.com\narg:sec@example.com\n/);
      expect(mail).toMatch(/^To: oncall@example.com, sec@example.com$/m);
      expect(mail).toMatch(/^Subject: .*grace\.hopper\.at\.navy\.example/m);
      expect(mail).toContain('IAM user: Grace.Hopper@Navy.example');
    } finally {
      await settings(`http://127.0.0.1:${hookPort}/hook`);
    }
  });

  test('keys under sshd-like conditions (stderr /dev/null) logs keys.served to journald as iam-ssh', async () => {
    // sshd without -e gives its AuthorizedKeysCommand a stderr of /dev/null; the audit line must not be lost.
    const r = await env.ns.exec('sh', ['-c', 'exec "$0" keys "$1" 2>/dev/null', BIN_IN_NS, 'linus'], { env: { PATH: '/usr/bin:/bin' } });
    expect(r.stdout).toBe(dev.publicLine + '\n');
    const served = await journal.waitFor('keys.served');
    expect(served).toHaveLength(1);
    expect(served[0]!.record).toMatchObject({ user: 'linus', iamUser: 'Linus', ident: 'iam-ssh', keys: [{ id: ids['Linus']![0] }] });
    expect(served[0]!.level).toBe(6);
    expect(journal.streams().every((s) => s.identifier === 'iam-ssh' && s.priority === (10 << 3 | 6))).toBe(true);
  });
});
