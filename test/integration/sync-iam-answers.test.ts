/**
 * `iam-ssh sync` against moto behind the fault-injecting proxy, with the real account tools in
 * a private mount namespace: what a run does with an IAM answer that lacks what a complete one
 * has, with one failed read among several, with an IAM user named like a local group, and with a
 * UID_MIN raised above the accounts it created. The tests run in order, each changing IAM.
 */
import { AddUserToGroupCommand, CreateUserCommand, RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { SyncEnv } from '../helpers/sync-env';
import type { FaultRule } from '../helpers/iam-proxy';
import { rootSuite } from '../helpers/namespace';
import { events } from '../helpers/run';

const STATE = '/var/lib/iam-ssh/users.json';
// Two authorized groups: when one answer is cut, the other still lists someone, so that no
// "removing everyone" guard hides what the cut answer would do; MAX_REMOVALS is no guard either.
const BASE = { IAM_AUTHORIZED_GROUPS: 'ssh-users,contractors', SUDOERS_GROUPS: 'admins', GROUP_MAP: 'ops=dbadmin', NOTIFY_GROUPS: 'oncall', MAX_REMOVALS: '100' };

rootSuite('sync and the IAM answers it reads', () => {
  let env: SyncEnv;
  const iam = async (cmd: unknown) => {
    const c = env.moto.iam();
    await c.send(cmd as never);
    c.destroy();
  };
  const leave = (g: string, u: string) => iam(new RemoveUserFromGroupCommand({ GroupName: g, UserName: u }));
  const join = (g: string, u: string) => iam(new AddUserToGroupCommand({ GroupName: g, UserName: u }));
  const record = async () => JSON.parse(await env.ns.readFile(STATE)) as { writtenAt: string; users: { localName: string }[]; groupsRead: string[] };
  const recorded = async () => (await record()).users.map((u) => u.localName).sort();
  /** The kinds of the changes a run applied. */
  const changes = (stderr: string) => events(stderr, 'sync.change').map((c) => String(c.action));
  const done = (stderr: string) => events(stderr, 'sync.done')[0]!;
  /** Runs sync with these faults, then clears them. */
  const syncWith = async (rules: FaultRule[], ...args: string[]) => {
    env.proxy.rules = rules;
    try {
      return await env.sync(...args);
    } finally {
      env.proxy.rules = [];
    }
  };

  beforeAll(async () => {
    env = await SyncEnv.start();
    await env.moto.seed({
      groups: ['ssh-users', 'contractors', 'admins', 'ops', 'oncall'],
      users: [
        { name: 'Alice', groups: ['ssh-users', 'admins', 'ops', 'oncall'] },
        { name: 'Bob', groups: ['ssh-users', 'admins'] },
        { name: 'Carol', groups: ['ssh-users'] },
        { name: 'Dave', groups: ['ssh-users'] },
        { name: 'Erin', groups: ['ssh-users'] },
        { name: 'Frank', groups: ['contractors'] },
      ],
    });
    await env.ns.must('groupadd', ['dbadmin']);
    await env.config(BASE);
  });
  afterAll(async () => env?.stop());

  test('first run: everyone created, sudo and GROUP_MAP applied, the record written', async () => {
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(await recorded()).toEqual(['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
    expect(await env.groupsOf('alice')).toEqual(['alice', 'dbadmin', 'iam-ssh-sudo', 'iam-synced-users']);
    expect(await env.groupsOf('bob')).toEqual(['bob', 'iam-ssh-sudo', 'iam-synced-users']);
  });

  describe('an HTTP 200 from IAM without the elements of a complete answer', () => {
    const cases: [string, FaultRule][] = [
      ['GetGroup without Users', { action: 'GetGroup', when: { GroupName: 'ssh-users' }, fault: 'drop-element', element: 'Users' }],
      ['GetGroup without Group', { action: 'GetGroup', when: { GroupName: 'ssh-users' }, fault: 'drop-element', element: 'Group' }],
      ['GetGroup with an empty result', { action: 'GetGroup', when: { GroupName: 'ssh-users' }, fault: 'empty-result' }],
    ];

    test.each(cases)('%s: --dry-run plans no removal and exits 1', async (_w, rule) => {
      const r = await syncWith([rule], '--dry-run', '--json');
      expect(r.code).toBe(1);
      const plan = JSON.parse(r.stdout) as { complete: boolean; accessComplete: boolean; actions: { kind: string }[] };
      expect(plan).toMatchObject({ complete: false, accessComplete: false });
      expect(plan.actions.filter((a) => a.kind.startsWith('remove-'))).toEqual([]);
    });

    test.each(cases)('%s: nothing is removed, the record is kept, exit 1 naming the group', async (_w, rule) => {
      const before = await record();
      const r = await syncWith([rule]);
      expect(r.code).toBe(1);
      expect(events(r.stderr, 'sync.iam_read_failed')).toEqual([expect.objectContaining({ group: 'ssh-users', error: expect.stringMatching(/^IncompleteAnswer: GetGroup: page 1 /) })]);
      expect(changes(r.stderr).filter((c) => c.startsWith('remove-'))).toEqual([]);
      for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) expect(await env.passwd(u)).not.toBeNull();
      expect(await record()).toEqual(before);
      expect(done(r.stderr)).toMatchObject({ complete: false, recorded: false, failedGroups: ['ssh-users'] });
    });

    test('ListUsers without Users (no authorized group configured): nothing is removed, exit 1', async () => {
      await env.config({ ...BASE, IAM_AUTHORIZED_GROUPS: '' });
      try {
        const r = await syncWith([{ action: 'ListUsers', fault: 'drop-element', element: 'Users' }]);
        expect(r.code).toBe(1);
        expect(events(r.stderr, 'sync.iam_read_failed')).toEqual([expect.objectContaining({ group: 'ListUsers', error: expect.stringMatching(/no Users element/) })]);
        expect(changes(r.stderr).filter((c) => c.startsWith('remove-'))).toEqual([]);
        for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) expect(await env.passwd(u)).not.toBeNull();
      } finally {
        await env.config(BASE);
      }
    });
  });

  test('a mistyped sudoers group: who left the authorized group is removed and the record rewritten; sudo changes wait; exit 1', async () => {
    await leave('ssh-users', 'Carol');
    await leave('admins', 'Bob');
    await env.config({ ...BASE, SUDOERS_GROUPS: 'admins,admnis' });
    const r = await env.sync();
    expect(r.code).toBe(1);
    expect(events(r.stderr, 'sync.iam_read_failed')).toEqual([expect.objectContaining({ group: 'admnis' })]);
    expect(events(r.stderr, 'sync.iam_read_failed')[0]!.message).toMatch(/admnis.*membership of iam-ssh-sudo is not revoked/);
    expect(await env.passwd('carol')).toBeNull();
    expect(await recorded()).toEqual(['alice', 'bob', 'dave', 'erin', 'frank']);
    expect(await env.groupsOf('bob')).toContain('iam-ssh-sudo');
    expect(events(r.stderr, 'sync.revocation_deferred')[0]!.message).toContain('bob (iam-ssh-sudo)');
    expect(done(r.stderr)).toMatchObject({ complete: false, recorded: true, removalsWithheld: true, failedGroups: ['admnis'] });

    await env.config(BASE);
    const fixed = await env.sync();
    expect(fixed.code).toBe(0);
    expect(await env.groupsOf('bob')).toEqual(['bob', 'iam-synced-users']);
  });

  test('a failed NOTIFY_GROUPS read: removals and the record go on, the group is left out of groupsRead; exit 1', async () => {
    await leave('ssh-users', 'Dave');
    const r = await syncWith([{ action: 'GetGroup', when: { GroupName: 'oncall' }, fault: 'denied' }]);
    expect(r.code).toBe(1);
    expect(events(r.stderr, 'sync.iam_read_failed')).toEqual([expect.objectContaining({ group: 'oncall' })]);
    expect(await env.passwd('dave')).toBeNull();
    const state = await record();
    expect(state.users.map((u) => u.localName).sort()).toEqual(['alice', 'bob', 'erin', 'frank']);
    expect(state.groupsRead).not.toContain('oncall');
    expect(done(r.stderr)).toMatchObject({ removalsWithheld: false, recorded: true, failedGroups: ['oncall'] });
  });

  test('a failed GROUP_MAP group: its memberships are neither revoked nor granted; the rest goes on; exit 1', async () => {
    await leave('ops', 'Alice');
    await join('ops', 'Bob');
    await leave('ssh-users', 'Erin');
    const r = await syncWith([{ action: 'GetGroup', when: { GroupName: 'ops' }, fault: 'throttle' }]);
    expect(r.code).toBe(1);
    expect(await env.groupsOf('alice')).toContain('dbadmin');
    expect(await env.groupsOf('bob')).not.toContain('dbadmin');
    expect(await env.passwd('erin')).toBeNull();
    const again = await env.sync();
    expect(again.code).toBe(0);
    expect(await env.groupsOf('alice')).not.toContain('dbadmin');
    expect(await env.groupsOf('bob')).toContain('dbadmin');
  });

  test('an IAM user whose local name is a local group: one notice per run, skipped, not a failure', async () => {
    await iam(new CreateUserCommand({ UserName: 'Users' }));
    await join('ssh-users', 'Users');
    for (let run = 0; run < 2; run++) {
      const r = await env.sync();
      expect(r.code).toBe(0);
      expect(events(r.stderr, 'sync.name_is_group')).toEqual([expect.objectContaining({ level: 'warn', iamUser: 'Users', user: 'users' })]);
      expect(events(r.stderr, 'sync.change_failed')).toEqual([]);
    }
    expect(await env.passwd('users')).toBeNull();
  });

  test('UID_MIN raised above the accounts sync created: revocation goes on, nothing widens, exit 1 naming them', async () => {
    const uids = await Promise.all(['alice', 'bob', 'frank'].map(async (u) => Number((await env.passwd(u))![2])));
    await env.config({ ...BASE, UID_MIN: String(Math.max(...uids) + 1) });
    await leave('admins', 'Alice');
    await join('ops', 'Alice');
    await leave('ssh-users', 'Bob');
    const r = await env.sync();
    expect(r.code).toBe(1);
    expect(await env.passwd('bob')).toBeNull();
    expect(await env.groupsOf('alice')).toEqual(['alice', 'iam-synced-users']);
    expect(events(r.stderr, 'sync.uid_out_of_range')).toEqual(['alice', 'frank'].map((user) => expect.objectContaining({ level: 'error', user, message: expect.stringMatching(/below UID_MIN=/) })));
    expect(events(r.stderr, 'sync.protected_account')).toEqual([]);
    expect(done(r.stderr)).toMatchObject({ stranded: ['alice', 'frank'] });
    expect(await recorded()).toEqual(['alice', 'frank']);

    await env.config(BASE);
    const back = await env.sync();
    expect(back.code).toBe(0);
    expect(await env.groupsOf('alice')).toContain('dbadmin');
  });
});
