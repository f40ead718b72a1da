/**
 * `iam-ssh sync` against moto, with the real useradd/gpasswd/userdel/visudo inside a private
 * mount namespace. The tests run in order: each step changes IAM and checks the host.
 */
import { AddUserToGroupCommand, RemoveUserFromGroupCommand, CreateUserCommand } from '@aws-sdk/client-iam';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { events, logLines } from '../helpers/run';
import { stableUid } from '../../src/sync/uid';

const LONG = 'A'.repeat(40);

rootSuite('sync with real account tools', () => {
  let env: SyncEnv;
  let ids: Record<string, string>;
  const iam = async (cmd: unknown) => {
    const c = env.moto.iam();
    await c.send(cmd as never);
    c.destroy();
  };

  beforeAll(async () => {
    env = await SyncEnv.start();
    await env.moto.seed({
      groups: ['ssh-users', 'contractors', 'admins', 'devs'],
      users: [
        { name: 'Alice.Smith', groups: ['ssh-users', 'admins'] },
        { name: 'Carol+ops@corp.example', groups: ['ssh-users'] },
        { name: 'Dave', groups: ['ssh-users', 'devs'] },
        { name: 'Bob', groups: ['ssh-users'] },
        { name: 'bob', groups: ['contractors'] },
        { name: LONG, groups: ['ssh-users'] },
        { name: 'Mallory', groups: ['ssh-users'] },
      ],
    });
    const c = env.moto.iam();
    const { ListUsersCommand } = await import('@aws-sdk/client-iam');
    const users = (await c.send(new ListUsersCommand({}))).Users ?? [];
    ids = Object.fromEntries(users.map((u) => [u.UserName!, u.UserId!]));
    c.destroy();
    // A local account that exists before and is not ours; a local group for GROUP_MAP;
    // a Flatcar-style base group that only exists in a read-only base file.
    await env.ns.must('useradd', ['--create-home', '--uid', '300000', 'mallory']);
    await env.ns.must('groupadd', ['docker']);
    await env.ns.writeFile('/etc/iam-ssh-test-base-group', 'wheel:x:10:\ndocker:x:999:\n');
    await env.config({
      IAM_AUTHORIZED_GROUPS: 'ssh-users,contractors', SUDOERS_GROUPS: 'admins', GROUP_MAP: 'devs=docker+wheel', ALLOW_PRIVILEGED_GROUPS: 'docker,wheel', LOCAL_GROUPS: 'users',
      BASE_GROUP_FILE: '/etc/iam-ssh-test-base-group',
    });
  });
  afterAll(async () => env?.stop());

  test('--dry-run prints the plan and changes nothing', async () => {
    const r = await env.sync('--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/create-user\s+alice\.smith/);
    expect(r.stdout).toMatch(/create-user\s+carol\.plus\.ops\.at\.corp\.example/);
    expect(r.stdout).toMatch(/unmanaged_conflict: local account mallory/);
    expect(r.stdout).toMatch(/name_collision/);
    expect(r.stdout).toMatch(/name_too_long/);
    expect(await env.passwd('alice.smith')).toBeNull();
    const json = JSON.parse((await env.sync('--dry-run', '--json')).stdout);
    expect(json.actions.filter((a: { kind: string }) => a.kind === 'create-user').map((a: { user: string }) => a.user).sort())
      .toEqual(['alice.smith', 'carol.plus.ops.at.corp.example', 'dave']);
  });

  test('--json without --dry-run is a usage error (exit 2) that changes nothing: it never applies a plan meant to be read', async () => {
    const r = await env.sync('--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--json prints the plan of --dry-run/);
    expect(await env.passwd('alice.smith')).toBeNull();
    expect((await env.ns.exec('test', ['-e', '/var/lib/iam-ssh/last-sync.json'])).code).not.toBe(0);
  });

  test('first run creates mapped users with stable UIDs, groups, sudo, and skips bad names', async () => {
    const r = await env.sync();
    expect(r.code).toBe(0);
    const alice = await env.passwd('alice.smith');
    expect(alice).not.toBeNull();
    expect(Number(alice![2])).toBe(stableUid(ids['Alice.Smith']!, 200000, 2147483647, new Set()));
    expect(alice![4]).toBe('IAM user Alice.Smith');
    expect((await env.ns.must('stat', ['-c', '%U %a', '/home/alice.smith'])).stdout.trim()).toMatch(/^alice\.smith /);
    expect((await env.ns.must('getent', ['shadow', 'alice.smith'])).stdout.split(':')[1]).toBe('*');
    expect(await env.groupsOf('alice.smith')).toEqual(['alice.smith', 'iam-ssh-sudo', 'iam-synced-users', 'users']);
    expect(await env.groupsOf('dave')).toEqual(['dave', 'docker', 'iam-synced-users', 'users']);
    // A userdb drop-in holds a JSON object: systemd before 258 reads an empty file there as a mask, not a membership.
    expect(await env.ns.readFile('/etc/userdb/dave:wheel.membership')).toBe('{}\n');
    for (const skipped of ['bob', LONG.toLowerCase()]) expect(await env.passwd(skipped)).toBeNull();
    expect(await env.groupsOf('mallory')).toEqual(['mallory']);
    expect((await env.ns.must('stat', ['-c', '%a', '/etc/sudoers.d/iam-ssh'])).stdout.trim()).toBe('440');
    expect((await env.ns.exec('runuser', ['-u', 'alice.smith', '--', 'sudo', '-n', 'true'])).code).toBe(0);
    expect((await env.ns.exec('runuser', ['-u', 'dave', '--', 'sudo', '-n', 'true'])).code).not.toBe(0);
    expect((await env.ns.must('sudo', ['-l', '-U', 'alice.smith'])).stdout).toMatch(/NOPASSWD: ALL/);
    const state = JSON.parse(await env.ns.readFile('/var/lib/iam-ssh/users.json'));
    expect(state.users.map((u: { localName: string }) => u.localName).sort()).toEqual(['alice.smith', 'carol.plus.ops.at.corp.example', 'dave']);
    // Every change is one structured line with who, what, why.
    const changes = events(r.stderr, 'sync.change');
    expect(changes.find((c) => c.action === 'create-user' && c.user === 'alice.smith')).toMatchObject({ iamName: 'Alice.Smith', reason: expect.any(String) });
  });

  test('a second run is a no-op', async () => {
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(events(r.stderr, 'sync.change')).toHaveLength(0);
  });

  test('an empty userdb membership file (written by earlier versions) is rewritten as {}: it was no membership', async () => {
    await env.ns.must('truncate', ['-s', '0', '/etc/userdb/dave:wheel.membership']);
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(events(r.stderr, 'sync.change')).toEqual([expect.objectContaining({ action: 'add-member', user: 'dave', group: 'wheel' })]);
    expect(await env.ns.readFile('/etc/userdb/dave:wheel.membership')).toBe('{}\n');
    expect(events((await env.sync()).stderr, 'sync.change')).toHaveLength(0);
  });

  test('sudo follows membership of the sudo IAM group', async () => {
    await iam(new RemoveUserFromGroupCommand({ GroupName: 'admins', UserName: 'Alice.Smith' }));
    await iam(new AddUserToGroupCommand({ GroupName: 'admins', UserName: 'Dave' }));
    expect((await env.sync()).code).toBe(0);
    expect((await env.ns.exec('runuser', ['-u', 'alice.smith', '--', 'sudo', '-n', 'true'])).code).not.toBe(0);
    expect((await env.ns.exec('runuser', ['-u', 'dave', '--', 'sudo', '-n', 'true'])).code).toBe(0);
    expect(await env.groupsOf('alice.smith')).toEqual(['alice.smith', 'iam-synced-users', 'users']);
  });

  test('a throttled GetGroup removes nobody, still creates, and exits non-zero', async () => {
    await iam(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'Carol+ops@corp.example' }));
    await iam(new CreateUserCommand({ UserName: 'Erin' }));
    await iam(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'Erin' }));
    env.proxy.rules = [{ action: 'GetGroup', when: { GroupName: 'contractors' }, fault: 'throttle' }];
    const r = await env.sync();
    env.proxy.rules = [];
    expect(r.code).toBe(1);
    expect(await env.passwd('carol.plus.ops.at.corp.example')).not.toBeNull();
    expect(await env.passwd('erin')).not.toBeNull();
    // One failure, one line, one spelling: the group, the error and what is withheld because of it.
    expect(logLines(r.stderr).filter((l) => /iam.read.failed/.test(String(l.event)))).toEqual([expect.objectContaining({
      event: 'sync.iam_read_failed', level: 'error', group: 'contractors', error: expect.stringMatching(/Throttl/), message: expect.stringMatching(/contractors.*no account is removed/),
    })]);
    expect(events(r.stderr, 'sync.removal_deferred')).toHaveLength(1);
  });

  test('a user who left is removed, sessions ended, home kept', async () => {
    await env.ns.writeFile('/home/carol.plus.ops.at.corp.example/notes.txt', 'keep me\n');
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(await env.passwd('carol.plus.ops.at.corp.example')).toBeNull();
    expect(await env.ns.readFile('/home/carol.plus.ops.at.corp.example/notes.txt')).toBe('keep me\n');
    expect(events(r.stderr, 'sync.change').find((c) => c.action === 'remove-user')).toMatchObject({ keepHome: true });
  });

  test('an empty IAM result removes nobody without --force', async () => {
    for (const [g, u] of [['ssh-users', 'Alice.Smith'], ['ssh-users', 'Dave'], ['ssh-users', 'Erin']] as const) {
      await iam(new RemoveUserFromGroupCommand({ GroupName: g, UserName: u }));
    }
    const r = await env.sync();
    expect(r.code).toBe(3);
    expect(events(r.stderr, 'sync.removal_refused')).toHaveLength(1);
    expect(events(r.stderr, 'sync.done')).toEqual([expect.objectContaining({ level: 'warn', removalsWithheld: true })]);
    for (const u of ['alice.smith', 'dave', 'erin']) expect(await env.passwd(u)).not.toBeNull();
    for (const [g, u] of [['ssh-users', 'Alice.Smith'], ['ssh-users', 'Dave'], ['ssh-users', 'Erin']] as const) {
      await iam(new AddUserToGroupCommand({ GroupName: g, UserName: u }));
    }
  });

  test('kill -9 in the middle of a run leaves a host the next run converges from', async () => {
    const names = Array.from({ length: 25 }, (_, i) => `Batch${i}`);
    await env.moto.seed({ users: names.map((name) => ({ name, groups: ['ssh-users'] })) });
    const proc = env.ns.spawn(BIN_IN_NS, ['sync', '--wait', '0'], AWS_ENV);
    const exited = new Promise((r) => proc.once('exit', r));
    await new Promise<void>((resolve) => {
      let seen = 0;
      proc.stderr!.on('data', (d) => {
        seen += logLines(String(d)).filter((l) => l.event === 'sync.change').length;
        if (seen >= 5) resolve();
      });
      proc.on('exit', () => resolve());
    });
    proc.kill('SIGKILL');
    await exited;
    const again = await env.sync();
    if (again.code !== 0) console.log(again.stderr.split('\n').filter((l) => !l.includes('sync.name_') && !l.includes('"sync.change"')).join('\n'));
    expect(again.code).toBe(0);
    const passwd = (await env.ns.must('getent', ['passwd'])).stdout.split('\n').map((l) => l.split(':')[0]);
    for (const n of names) {
      expect(passwd.filter((p) => p === n.toLowerCase())).toHaveLength(1);
      expect(await env.groupsOf(n.toLowerCase())).toContain('iam-synced-users');
    }
    expect((await env.sync()).stderr).not.toMatch(/"event":"sync.change"/);
  });

  test('a run that cannot take the run lock within --wait exits 4, so a timer unit shows a stuck run', async () => {
    const holder = env.ns.spawn('sleep', ['60']);
    try {
      await env.ns.writeFile('/var/lib/iam-ssh/sync.lock', String(holder.pid));
      const r = await env.sync();
      expect(r.code).toBe(4);
      expect(events(r.stderr, 'sync.skipped')[0]).toMatchObject({ level: 'error' });
    } finally {
      holder.kill('SIGKILL');
      await env.ns.must('rm', ['-f', '/var/lib/iam-ssh/sync.lock']);
    }
  });

  test('DONOTSYNC stops sync with a clear message', async () => {
    const conf = await env.ns.readFile('/etc/iam-ssh.conf');
    await env.ns.writeFile('/etc/iam-ssh.conf', conf + 'DONOTSYNC=1\n');
    await iam(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'Dave' }));
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/DONOTSYNC/);
    expect(await env.passwd('dave')).not.toBeNull();
    await env.ns.writeFile('/etc/iam-ssh.conf', conf);
  });
});
