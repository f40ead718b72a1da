/**
 * The built dist/iam-ssh `keys` against moto's IAM, through a counting/faulting proxy.
 * Credentials come from the environment, as the standard AWS chain allows in tests. `keys`
 * answers only for accounts sync created, so each test runs in a private mount namespace where
 * a real `iam-ssh sync` made them; most tests then drop sync's member record (users.json) to
 * exercise the path of a host whose record is missing or out of date.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { AddUserToGroupCommand, CreateUserCommand, UploadSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { Moto, TEST_CREDENTIALS, freePort } from '../helpers/moto';
import { IamProxy } from '../helpers/iam-proxy';
import { run, requireBinary, events, type RunResult } from '../helpers/run';
import { makeClientKey, type ClientKey } from '../helpers/sshd';
import { MountNamespace, rootSuite } from '../helpers/namespace';

const bin = requireBinary();
let moto: Moto;
let proxy: IamProxy;
let dir: string;
let keyA: ClientKey;
let keyB: ClientKey;
let keyC: ClientKey;
let ids: Record<string, string[]>;
let keyDir: string;
let ns: MountNamespace;

const env = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };

function writeConfig(lines: Record<string, string>, name = 'iam-ssh.conf'): string {
  const file = join(dir, name);
  const all = { AWS_ENDPOINT_URL: proxy.url, STATE_DIR: join(dir, 'state'), CACHE_DIR: join(dir, 'cache'), ...lines };
  writeFileSync(file, Object.entries(all).map(([k, v]) => `${k}="${v}"`).join('\n') + '\n');
  // install makes CACHE_DIR for the command user (here: root, which runs keys in these tests).
  mkdirSync(join(dir, 'cache'), { recursive: true, mode: 0o700 });
  return file;
}

function keys(config: string, user: string, fp?: string): Promise<RunResult> {
  return ns.exec(bin, ['--config', config, 'keys', user, ...(fp ? [fp] : [])], { env });
}

/** The config, and the accounts a real sync makes from it; sync's member record is dropped unless kept. */
async function managed(lines: Record<string, string>, opts: { keepRecord?: boolean } = {}): Promise<string> {
  const cfg = writeConfig(lines);
  await ns.must(bin, ['--config', cfg, 'sync'], { env });
  if (!opts.keepRecord) rmSync(join(dir, 'state', 'users.json'));
  proxy.resetCounts();
  return cfg;
}

function cacheFile(user: string): string {
  return join(dir, 'cache', 'keys', `${user}.json`);
}

rootSuite('keys against IAM', () => {
beforeAll(async () => {
  moto = await Moto.start();
  proxy = await IamProxy.start(moto.url);
  keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-keys-'));
  keyA = await makeClientKey(keyDir, 'a');
  keyB = await makeClientKey(keyDir, 'b', 'rsa');
  keyC = await makeClientKey(keyDir, 'c');
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

beforeEach(async () => {
  ns = await MountNamespace.create();
  await moto.reset();
  proxy.rules = [];
  dir = mkdtempSync(join(tmpdir(), 'iam-ssh-it-'));
  ids = await moto.seed({
    groups: ['ssh-users', 'admins'],
    users: [
      { name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: keyA.publicLine }, { body: keyB.publicLine }, { body: keyC.publicLine, inactive: true }] },
      { name: 'Carol+ops@corp.example', groups: ['admins'], keys: [{ body: keyC.publicLine }] },
      { name: 'Mallory', keys: [{ body: keyA.publicLine }] },
      {
        name: 'Eve',
        groups: ['ssh-users'],
        keys: [
          { body: `command="/bin/sh" ${keyA.publicLine}` },
          { body: `${keyB.publicLine}\n${keyC.publicLine}` },
          { body: 'ssh-ed25519 not-base64!!' },
          { body: keyC.publicLine },
        ],
      },
    ],
  });
  proxy.resetCounts();
});

afterEach(async () => {
  await ns?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('prints the Active keys of an authorized member, one canonical line each, and caches them 0600', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users,admins' });
  const r = await keys(cfg, 'alice.smith');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`${keyA.publicLine}\n${keyB.publicLine}\n`);
  const [served] = events(r.stderr, 'keys.served');
  expect(served).toMatchObject({ user: 'alice.smith', iamUser: 'Alice.Smith', source: 'miss' });
  expect((served!.keys as { id: string }[]).map((k) => k.id)).toEqual(ids['Alice.Smith']!.slice(0, 2));
  expect(statSync(cacheFile('alice.smith')).mode & 0o777).toBe(0o600);
  expect(statSync(join(dir, 'cache', 'keys')).mode & 0o777).toBe(0o700);
  // Special characters map back through the member list.
  const c = await keys(cfg, 'carol.plus.ops.at.corp.example');
  expect(c.stdout).toBe(`${keyC.publicLine}\n`);
});

test('drops key bodies with options, a second line or garbage, and logs each', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
  const r = await keys(cfg, 'eve');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(`${keyC.publicLine}\n`);
  expect(events(r.stderr, 'keys.key_dropped')).toHaveLength(3);
});

test('non-members, unknown and hostile names get nothing, exit 0', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
  for (const user of ['mallory', 'carol.plus.ops.at.corp.example', 'nobody-here', 'root', '../../etc/passwd', 'a\nb', 'Alice.Smith', '-rf']) {
    const r = await keys(cfg, user);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  }
  expect(existsSync(join(dir, 'cache', 'keys', '..', '..', 'etc'))).toBe(false);
});

test('an IAM user named like an existing local account gets no keys for it, before or after a sync', async () => {
  await ns.must('useradd', ['--create-home', '--groups', 'sudo', 'ubuntu']);
  const iam = moto.iam();
  await iam.send(new CreateUserCommand({ UserName: 'ubuntu' }));
  await iam.send(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'ubuntu' }));
  await iam.send(new UploadSSHPublicKeyCommand({ UserName: 'ubuntu', SSHPublicKeyBody: keyA.publicLine }));
  iam.destroy();
  const cfg = writeConfig({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
  const before = await keys(cfg, 'ubuntu');
  expect(before.stdout).toBe('');
  expect(events(before.stderr, 'keys.refused')[0]!.reason).toBe('not an account iam-ssh created or adopted');
  expect(proxy.total()).toBe(0);
  await ns.must(bin, ['--config', cfg, 'sync'], { env });
  rmSync(join(dir, 'state', 'users.json'));
  const after = await keys(cfg, 'ubuntu');
  expect(after.stdout).toBe('');
  expect((await keys(cfg, 'alice.smith')).stdout).toBe(`${keyA.publicLine}\n${keyB.publicLine}\n`);
});

test('empty IAM_AUTHORIZED_GROUPS authorizes every IAM user (ListUsers)', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: '' });
  const r = await keys(cfg, 'mallory');
  expect(r.stdout).toBe(`${keyA.publicLine}\n`);
  expect(proxy.counts.ListUsers).toBe(1);
});

test('a cache hit makes no IAM call; a sync-recorded member list refuses others without IAM', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
  await keys(cfg, 'alice.smith');
  const before = proxy.total();
  expect(before).toBeGreaterThan(0);
  const hit = await keys(cfg, 'alice.smith');
  expect(hit.stdout).toBe(`${keyA.publicLine}\n${keyB.publicLine}\n`);
  expect(events(hit.stderr, 'keys.served')[0]).toMatchObject({ source: 'hit' });
  expect(proxy.total()).toBe(before);

  // A member list recorded by sync, in the same scope as the config.
  const scope = JSON.stringify({ g: ['ssh-users'], e: proxy.url });
  writeFileSync(join(dir, 'state', 'users.json'), JSON.stringify({
    version: 1, writtenAt: new Date().toISOString(), scope,
    users: [{ iamName: 'Alice.Smith', localName: 'alice.smith', uid: 200123, iamUserId: 'AIDA1' }],
  }));
  const eve = await keys(cfg, 'eve');
  expect(eve.stdout).toBe('');
  expect(events(eve.stderr, 'keys.refused')[0]!.reason).toMatch(/recorded by sync/);
  expect(proxy.total()).toBe(before);
});

test('with a fingerprint, prints only that key and names its IAM key id', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
  const fp = (await run('ssh-keygen', ['-lf', `${keyB.path}.pub`])).stdout.split(' ')[1]!;
  const r = await keys(cfg, 'alice.smith', fp);
  expect(r.stdout).toBe(`${keyB.publicLine}\n`);
  expect(events(r.stderr, 'keys.served')[0]).toMatchObject({ requested: fp, matchedKeyId: ids['Alice.Smith']![1] });
});

test('IAM failing: serves the stale entry within KEYS_MAX_STALE, then fails closed', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users', KEYS_CACHE_TTL: '60', KEYS_MAX_STALE: '1h' });
  await keys(cfg, 'alice.smith');
  const age = (ms: number) => {
    const entry = JSON.parse(readFileSync(cacheFile('alice.smith'), 'utf8'));
    entry.fetchedAt = Date.now() - ms;
    writeFileSync(cacheFile('alice.smith'), JSON.stringify(entry));
  };
  proxy.rules = [{ action: 'ListSSHPublicKeys', fault: 'throttle' }, { action: 'GetGroup', fault: 'throttle' }];
  age(10 * 60_000);
  proxy.resetCounts();
  const stale = await keys(cfg, 'alice.smith');
  // A usable stale entry beats a retry after a backoff: one try only.
  expect(proxy.counts.ListSSHPublicKeys).toBe(1);
  expect(stale.stdout).toBe(`${keyA.publicLine}\n${keyB.publicLine}\n`);
  expect(events(stale.stderr, 'keys.served')[0]).toMatchObject({ source: 'stale' });
  expect(events(stale.stderr, 'keys.stale')[0]!.error).toMatch(/Throttling|Rate exceeded/);

  age(2 * 3_600_000);
  proxy.resetCounts();
  const expired = await keys(cfg, 'alice.smith');
  // Nothing to fall back on: IAM gets a second try within the budget.
  expect(proxy.counts.ListSSHPublicKeys).toBe(2);
  expect(expired.code).toBe(0);
  expect(expired.stdout).toBe('');
  expect(events(expired.stderr, 'keys.failed_closed')).toHaveLength(1);
});

test('a corrupt or tampered cache entry is ignored, not trusted', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
  await keys(cfg, 'alice.smith');
  const entry = JSON.parse(readFileSync(cacheFile('alice.smith'), 'utf8'));
  entry.keys[0].line = `command="/bin/sh" ${entry.keys[0].line}`;
  writeFileSync(cacheFile('alice.smith'), JSON.stringify(entry));
  const r = await keys(cfg, 'alice.smith');
  expect(events(r.stderr, 'keys.served')[0]).toMatchObject({ source: 'miss' });
  expect(r.stdout).not.toContain('command=');
  writeFileSync(cacheFile('alice.smith'), '{"version":1,');
  expect(events((await keys(cfg, 'alice.smith')).stderr, 'keys.served')[0]).toMatchObject({ source: 'miss' });
});

describe('unreachable or hanging IAM', () => {
  let blackhole: Server;
  let holePort: number;
  beforeAll(async () => {
    blackhole = createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    holePort = (blackhole.address() as { port: number }).port;
  });
  afterAll(async () => {
    blackhole.close();
  });

  test('a closed port fails closed at once with no output', async () => {
    await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
    const port = await freePort();
    const cfg = writeConfig({ IAM_AUTHORIZED_GROUPS: 'ssh-users', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` });
    const r = await keys(cfg, 'alice.smith');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(events(r.stderr, 'keys.failed_closed')).toHaveLength(1);
  });

  test('a server that never answers is cut off by the time budget', async () => {
    await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
    const cfg = writeConfig({ IAM_AUTHORIZED_GROUPS: 'ssh-users', AWS_ENDPOINT_URL: `http://127.0.0.1:${holePort}`, KEYS_TIMEOUT: '1500ms', IAM_REQUEST_TIMEOUT: '10s' });
    const r = await keys(cfg, 'alice.smith');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    // The contract is "never hang sshd": well under the budget plus process start-up.
    expect(r.ms).toBeLessThan(1500 + 1500);
  });
});

test('many concurrent processes for one user make one IAM round between them', async () => {
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
  const results = await Promise.all(Array.from({ length: 20 }, () => keys(cfg, 'alice.smith')));
  for (const r of results) expect(r.stdout).toBe(`${keyA.publicLine}\n${keyB.publicLine}\n`);
  expect(proxy.counts.ListSSHPublicKeys).toBe(1);
  expect(proxy.counts.GetGroup).toBe(1);
  expect(proxy.counts.GetSSHPublicKey).toBe(2); // the Inactive key's body is never fetched
});

test('every line on stderr is one JSON object, also for a user with more keys than Node\'s listener warning allows', async () => {
  const many = await Promise.all(Array.from({ length: 12 }, (_, i) => makeClientKey(dir, `many${i}`)));
  await moto.seed({ users: [{ name: 'Many', groups: ['ssh-users'], keys: many.map((k) => ({ body: k.publicLine })) }] });
  const cfg = await managed({ IAM_AUTHORIZED_GROUPS: 'ssh-users' });
  const r = await keys(cfg, 'many');
  expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(12);
  const lines = r.stderr.split('\n').filter(Boolean);
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
});

test('config problems fail closed with a message naming the file and line', async () => {
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'IAM_AUTHORIZED_GROUPS="ssh-users"\nKEYS_CACHE_TTL=soon\n');
  const r = await keys(bad, 'alice.smith');
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('');
  expect(events(r.stderr, 'keys.failed_closed')[0]!.error).toContain(`${bad}:2: KEYS_CACHE_TTL`);
  const role = writeConfig({ ASSUMEROLE: 'arn:aws:iam::1234:role/x' }, 'role.conf');
  const rr = await keys(role, 'alice.smith');
  expect(rr.stdout).toBe('');
  expect(events(rr.stderr, 'keys.failed_closed')[0]!.error).toMatch(/role\.conf:\d+: ASSUMEROLE/);
  const missing = await keys(join(dir, 'nope.conf'), 'alice.smith');
  expect(events(missing.stderr, 'keys.failed_closed')[0]!.error).toMatch(/not found/);
});
});
