/**
 * Private groups: GID = UID, so that a group number is as fleet-stable as the UID and is never
 * handed to the next new user while a removed user's kept home still carries it. Real
 * groupadd/useradd/userdel in a private mount namespace, IAM from moto.
 */
import { AddUserToGroupCommand, RemoveUserFromGroupCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { SyncEnv } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { installAccountTripwire, takeAccountCommands } from '../helpers/account-tripwire';
import { stableUid } from '../../src/sync/uid';

const MIN = 200000;
const MAX = 2147483647;

rootSuite('private groups get GID = UID', () => {
  let env: SyncEnv;
  let ids: Record<string, string>;
  let tripwire: Record<string, string>;
  const iam = async (cmd: unknown) => {
    const c = env.moto.iam();
    await c.send(cmd as never);
    c.destroy();
  };
  const ids3 = async (user: string) => {
    const p = await env.passwd(user);
    const g = await env.ns.exec('getent', ['group', user]);
    return { uid: Number(p![2]), gid: Number(p![3]), group: g.code === 0 ? Number(g.stdout.split(':')[2]) : null };
  };
  const configure = (extra: Record<string, string> = {}) => env.config({ IAM_AUTHORIZED_GROUPS: 'ssh-users', ...tripwire, ...extra });

  beforeAll(async () => {
    env = await SyncEnv.start();
    await env.moto.seed({
      groups: ['ssh-users', 'later'],
      users: [
        { name: 'Alice', groups: ['ssh-users'] },
        { name: 'Bob', groups: ['ssh-users'] },
        { name: 'Carol', groups: ['later'] },
        { name: 'Dave', groups: ['later'] },
        { name: 'Erin', groups: ['later'] },
        { name: 'Frank', groups: ['later'] },
        { name: 'Grace', groups: ['later'] },
      ],
    });
    const c = env.moto.iam();
    ids = Object.fromEntries(((await c.send(new ListUsersCommand({}))).Users ?? []).map((u) => [u.UserName!, u.UserId!]));
    c.destroy();
    tripwire = await installAccountTripwire(env.ns);
  });
  afterAll(async () => env?.stop());

  test('each account gets a private group whose GID is its UID, made by groupadd before useradd', async () => {
    await configure();
    const r = await env.sync();
    expect(r.code).toBe(0);
    for (const [iamName, user] of [['Alice', 'alice'], ['Bob', 'bob']] as const) {
      const uid = stableUid(ids[iamName]!, MIN, MAX, new Set());
      expect(await ids3(user)).toEqual({ uid, gid: uid, group: uid });
    }
    const commands = await takeAccountCommands(env.ns);
    expect(commands.filter((c) => c === 'groupadd' || c === 'useradd')).toEqual(['groupadd', 'groupadd', 'useradd', 'groupadd', 'useradd']);
    expect((await env.ns.must('stat', ['-c', '%u %g', '/home/alice'])).stdout.trim()).toBe(`${(await ids3('alice')).uid} ${(await ids3('alice')).uid}`);
  });

  test("a removed user's kept home keeps a group number that the next new user does not get", async () => {
    const bob = await ids3('bob');
    await env.ns.writeFile('/home/bob/notes.txt', 'private\n', '0640');
    await env.ns.must('chown', ['bob:bob', '/home/bob/notes.txt']);
    await iam(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'Bob' }));
    expect((await env.sync()).code).toBe(0);
    expect(await env.passwd('bob')).toBeNull();
    expect((await env.ns.exec('getent', ['group', 'bob'])).code).not.toBe(0);
    await iam(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'Carol' }));
    expect((await env.sync()).code).toBe(0);
    const carol = await ids3('carol');
    expect(carol.gid).toBe(carol.uid);
    expect(carol.gid).not.toBe(bob.gid);
    expect((await env.ns.must('stat', ['-c', '%g', '/home/bob/notes.txt'])).stdout.trim()).toBe(String(bob.gid));
    // Nothing in the kept home is reachable through carol's groups.
    expect((await env.ns.exec('runuser', ['-u', 'carol', '--', 'cat', '/home/bob/notes.txt'])).code).not.toBe(0);
  });

  test('a UID whose number is taken as a GID is not used: the fallback UID and its GID are chosen together', async () => {
    const hashed = stableUid(ids.Dave!, MIN, MAX, new Set())!;
    await env.ns.must('groupadd', ['--gid', String(hashed), 'squatter']);
    await iam(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'Dave' }));
    const r = await env.sync();
    expect(r.code).toBe(0);
    const dave = await ids3('dave');
    expect(dave.uid).toBe(stableUid(ids.Dave!, MIN, MAX, new Set([hashed])));
    expect(dave).toEqual({ uid: dave.uid, gid: dave.uid, group: dave.uid });
    expect(r.stderr).toMatch(/sync\.uid_collision/);
  });

  test('USERADD_ARGS without --user-group still gets the private group (useradd would make one), --no-user-group gets none', async () => {
    await configure({ USERADD_ARGS: '--create-home --shell /bin/sh' });
    await iam(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'Erin' }));
    expect((await env.sync()).code).toBe(0);
    const erin = await ids3('erin');
    expect(erin).toEqual({ uid: erin.uid, gid: erin.uid, group: erin.uid });
    expect((await env.passwd('erin'))![6]).toBe('/bin/sh');

    await configure({ USERADD_ARGS: '--create-home --no-user-group --shell /bin/bash' });
    await iam(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'Frank' }));
    expect((await env.sync()).code).toBe(0);
    const frank = await ids3('frank');
    expect(frank.group).toBeNull();
    expect(frank.gid).toBe(Number((await env.ns.must('getent', ['group', 'users'])).stdout.split(':')[2]));
  });

  test('UID_MODE=auto: useradd picks the UID and the private group gets the same number', async () => {
    await configure({ UID_MODE: 'auto' });
    await iam(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'Grace' }));
    expect((await env.sync()).code).toBe(0);
    const grace = await ids3('grace');
    expect(grace.uid).toBeGreaterThanOrEqual(MIN);
    expect(grace).toEqual({ uid: grace.uid, gid: grace.uid, group: grace.uid });
    expect((await env.sync()).stderr).not.toMatch(/"event":"sync.change"/);
  });

  test('pwck and grpck find nothing wrong with the accounts sync made', async () => {
    const names = ['alice', 'carol', 'dave', 'erin', 'frank', 'grace'];
    for (const tool of ['pwck', 'grpck']) {
      const r = await env.ns.exec(tool, ['-r']);
      const lines = (r.stdout + r.stderr).split('\n').filter((l) => names.some((n) => l.includes(`'${n}'`) || l.includes(` ${n}`)));
      expect(lines).toEqual([]);
    }
  });
});
