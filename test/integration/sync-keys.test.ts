/**
 * `sync` with KEYS_MODE=file and with KEYS_PREFETCH=yes, against moto, with the real account
 * tools inside a private mount namespace. The tests run in order: each step changes IAM or
 * the host and checks the files, the IAM calls and the account commands.
 */
import { RemoveUserFromGroupCommand, UploadSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { events } from '../helpers/run';
import { makeClientKey, prepareCommandUser, type ClientKey } from '../helpers/sshd';
import { installAccountTripwire, takeAccountCommands } from '../helpers/account-tripwire';

const DIR = '/etc/ssh/iam-ssh/authorized_keys';

rootSuite('sync writes AuthorizedKeysFiles (KEYS_MODE=file) and prefetches the keys cache', () => {
  let env: SyncEnv;
  let keyDir: string;
  const k: ClientKey[] = [];
  let settings: Record<string, string>;
  const iam = async (cmd: unknown) => {
    const c = env.moto.iam();
    await c.send(cmd as never);
    c.destroy();
  };
  const keyLines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const stat = async (path: string) => (await env.ns.must('stat', ['-c', '%U:%G %a', path])).stdout.trim();
  const exists = async (path: string) => (await env.ns.exec('test', ['-e', path])).code === 0;

  beforeAll(async () => {
    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-sync-keys-'));
    for (let i = 0; i < 4; i++) k.push(await makeClientKey(keyDir, `k${i}`));
    await env.moto.seed({
      groups: ['ssh-users'],
      users: [
        { name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: k[0]!.publicLine }, { body: k[1]!.publicLine, inactive: true }] },
        { name: 'Bob', groups: ['ssh-users'], keys: [{ body: k[2]!.publicLine }, { body: `command="/bin/sh" ${k[3]!.publicLine}` }] },
        { name: 'Carol', groups: ['ssh-users'] },
      ],
    });
    await prepareCommandUser(env.ns);
    settings = { IAM_AUTHORIZED_GROUPS: 'ssh-users', KEYS_MODE: 'file', ...(await installAccountTripwire(env.ns)) };
    await env.config(settings);
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('first run: one root-owned 0644 file per user with only the validated Active keys; calls counted', async () => {
    env.proxy.resetCounts();
    const r = await env.sync('--stats');
    expect(r.code).toBe(0);
    expect(keyLines(await env.ns.readFile(`${DIR}/alice.smith`))).toEqual([k[0]!.publicLine]);
    expect(keyLines(await env.ns.readFile(`${DIR}/bob`))).toEqual([k[2]!.publicLine]);
    expect(keyLines(await env.ns.readFile(`${DIR}/carol`))).toEqual([]);
    expect(await stat(`${DIR}/alice.smith`)).toBe('root:root 644');
    for (const d of ['/etc/ssh/iam-ssh', DIR]) expect(await stat(d)).toBe('root:root 755');
    // One ListSSHPublicKeys per user, one GetSSHPublicKey per Active key; the Inactive body is never read.
    expect(env.proxy.counts).toEqual({ GetGroup: 1, ListSSHPublicKeys: 3, GetSSHPublicKey: 3 });
    const done = events(r.stderr, 'sync.done')[0]!;
    expect(done.calls).toEqual({ iam: { GetGroup: 1, GetSSHPublicKey: 3, ListSSHPublicKeys: 3 } });
    expect(done.keys).toMatchObject({ mode: 'file', users: 3, written: 3, removed: 0, failed: 0, calls: { ListSSHPublicKeys: 3, GetSSHPublicKey: 3 } });
    expect(events(r.stderr, 'sync.key_dropped')).toHaveLength(1);
    expect(r.stdout).toMatch(/AWS calls: 7 AWS calls: iam GetGroup 1, GetSSHPublicKey 3, ListSSHPublicKeys 3/);
    expect(r.stdout).toMatch(/keys of 3 users \(file\): ListSSHPublicKeys 3, GetSSHPublicKey 3; 3 written/);
    // The tripwire sees the account commands of a run that has changes to make.
    expect((await takeAccountCommands(env.ns)).filter((c) => c === 'useradd')).toHaveLength(3);
  });

  test('no-op run: no account command, no file written, known key bodies not fetched again', async () => {
    const before = (await env.ns.must('stat', ['-c', '%i %Y', `${DIR}/alice.smith`])).stdout;
    env.proxy.resetCounts();
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(await takeAccountCommands(env.ns)).toEqual([]);
    expect(events(r.stderr, 'sync.change')).toEqual([]);
    expect((await env.ns.must('stat', ['-c', '%i %Y', `${DIR}/alice.smith`])).stdout).toBe(before);
    // Only Bob's dropped key (never written, so never known) is fetched again.
    expect(env.proxy.counts).toEqual({ GetGroup: 1, ListSSHPublicKeys: 3, GetSSHPublicKey: 1 });
    expect(events(r.stderr, 'sync.done')[0]!.keys).toMatchObject({ written: 0, removed: 0 });
  });

  test('a throttled key read keeps that user\'s file and fails the run; the others are updated', async () => {
    await iam(new UploadSSHPublicKeyCommand({ UserName: 'Alice.Smith', SSHPublicKeyBody: k[3]!.publicLine }));
    const bob = await env.ns.readFile(`${DIR}/bob`);
    env.proxy.rules = [{ action: 'ListSSHPublicKeys', when: { UserName: 'Bob' }, fault: 'throttle' }];
    try {
      const r = await env.sync();
      expect(r.code).toBe(1);
      expect(await env.ns.readFile(`${DIR}/bob`)).toBe(bob);
      expect(keyLines(await env.ns.readFile(`${DIR}/alice.smith`))).toEqual([k[0]!.publicLine, k[3]!.publicLine]);
      expect(events(r.stderr, 'sync.keys_read_failed')[0]).toMatchObject({ user: 'bob', iamUser: 'Bob' });
      expect(events(r.stderr, 'sync.done')[0]).toMatchObject({ complete: false, keys: { failed: 1, written: 1 } });
    } finally {
      env.proxy.rules = [];
    }
  });

  test('a user who leaves loses the file; files that are not ours stay', async () => {
    await env.ns.writeFile(`${DIR}/operator`, `${k[0]!.publicLine}\n`);
    await env.ns.must('ln', ['-s', '/etc/passwd', `${DIR}/zed`]);
    await env.ns.writeFile(`${DIR}/Not-A-Name`, 'x\n');
    await iam(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'Carol' }));
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(await exists(`${DIR}/carol`)).toBe(false);
    expect(events(r.stderr, 'sync.keys_file_removed')).toEqual([expect.objectContaining({ user: 'carol' })]);
    for (const other of ['operator', 'zed', 'Not-A-Name', 'alice.smith', 'bob']) expect(await exists(`${DIR}/${other}`)).toBe(true);
    expect((await env.ns.must('readlink', [`${DIR}/zed`])).stdout.trim()).toBe('/etc/passwd');
  });

  test('a group-writable directory is refused: nothing written, the run fails', async () => {
    await env.ns.must('chmod', ['0775', DIR]);
    try {
      await iam(new UploadSSHPublicKeyCommand({ UserName: 'Bob', SSHPublicKeyBody: k[1]!.publicLine }));
      const bob = await env.ns.readFile(`${DIR}/bob`);
      const r = await env.sync();
      expect(r.code).toBe(1);
      expect(events(r.stderr, 'sync.keys_dir_unsafe')[0]!.error).toMatch(/writable by group or others/);
      expect(await env.ns.readFile(`${DIR}/bob`)).toBe(bob);
    } finally {
      await env.ns.must('chmod', ['0755', DIR]);
    }
  });

  test('KEYS_PREFETCH=yes: entries owned by the cache owner, and the next login is a hit without IAM', async () => {
    await env.config({ ...settings, KEYS_MODE: 'command', KEYS_PREFETCH: 'yes' });
    env.proxy.resetCounts();
    const r = await env.sync('--stats');
    expect(r.code).toBe(0);
    expect(env.proxy.counts.ListSSHPublicKeys).toBe(2);
    expect(events(r.stderr, 'sync.done')[0]!.keys).toMatchObject({ mode: 'prefetch', users: 2, written: 2, failed: 0 });
    const owner = (await stat('/var/cache/iam-ssh')).split(' ')[0];
    expect(owner).toMatch(/^iam-ssh:/);
    expect(await stat('/var/cache/iam-ssh/keys/alice.smith.json')).toBe(`${owner} 600`);
    expect(await stat('/var/cache/iam-ssh/keys')).toBe(`${owner} 700`);
    env.proxy.resetCounts();
    const login = await env.ns.exec('setpriv', ['--reuid=iam-ssh', '--regid=iam-ssh', '--clear-groups', BIN_IN_NS, '--stats', 'keys', 'alice.smith'], { env: AWS_ENV });
    expect(login.stdout).toBe(`${k[0]!.publicLine}\n${k[3]!.publicLine}\n`);
    expect(events(login.stderr, 'keys.served')[0]).toMatchObject({ source: 'hit', calls: {} });
    expect(login.stderr).toContain('iam-ssh keys: 0 AWS calls');
    expect(env.proxy.total()).toBe(0);
  });

  test('what the command user plants in CACHE_DIR cannot hang or redirect root', async () => {
    const asCommandUser = (cmd: string, args: string[]) => env.ns.must('setpriv', ['--reuid=iam-ssh', '--regid=iam-ssh', '--clear-groups', cmd, ...args]);
    const entry = '/var/cache/iam-ssh/keys/alice.smith.json';
    // A FIFO where root's sync (prefetch: it reads the known key bodies) and notify-login read.
    await asCommandUser('rm', ['-f', entry]);
    await asCommandUser('mkfifo', [entry]);
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(20_000);
    expect(await stat(entry)).toMatch(/^iam-ssh:\S+ 600$/); // replaced by a real entry
    await asCommandUser('rm', ['-f', entry]);
    await asCommandUser('mkfifo', [entry]);
    const notify = await env.ns.exec(BIN_IN_NS, ['notify-login'], {
      env: { ...AWS_ENV, PAM_TYPE: 'open_session', PAM_USER: 'alice.smith', PAM_RHOST: '192.0.2.1', PAM_SERVICE: 'sshd' }, timeoutMs: 20_000,
    });
    expect(notify.code).toBe(0);
    expect(notify.ms).toBeLessThan(3_000 + 2_000);
    expect(events(notify.stderr, 'notify.timeout')).toEqual([]);

    // A symlink in place of CACHE_DIR/keys, into a directory only root may write: removing Bob
    // must not make root unlink the file of that name there.
    await env.ns.must('install', ['-d', '-m', '0700', '/var/lib/root-only']);
    await env.ns.writeFile('/var/lib/root-only/bob.json', 'precious\n', '0600');
    await asCommandUser('rm', ['-rf', '/var/cache/iam-ssh/keys']);
    await asCommandUser('ln', ['-s', '/var/lib/root-only', '/var/cache/iam-ssh/keys']);
    await iam(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'Bob' }));
    const removal = await env.sync();
    expect(events(removal.stderr, 'sync.change').some((c) => c.action === 'remove-user' && c.user === 'bob')).toBe(true);
    expect(await env.ns.readFile('/var/lib/root-only/bob.json')).toBe('precious\n');
  });
});
