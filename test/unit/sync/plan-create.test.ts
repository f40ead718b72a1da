/** Planner: creating accounts, their UIDs and groups, and IAM names that cannot be mapped. */
import { hashUid, stableUid } from '../../../src/sync/uid';
import {
  settings, iam, idOf, local, host, run, actionsOf, lines, codes, noticesOf, createUser, MARKER, SUDO, UID_MIN, UID_MAX,
} from '../../helpers/plan-fixtures';

describe('creation', () => {
  test('a new authorized user on a prepared host: create-user with the marker group and a hash UID', () => {
    const s = settings();
    const p = run(iam({ devs: ['alice'] }), host(s), s);
    expect(lines(p)).toEqual([`create-user alice uid=hash [${MARKER}]`]);
    const c = createUser(p, 'alice');
    expect(c).toMatchObject({ iamName: 'alice', iamUserId: idOf('alice'), uid: stableUid(idOf('alice'), UID_MIN, UID_MAX, new Set()) });
    expect(c.uid).toBeGreaterThanOrEqual(UID_MIN);
    expect(c.uid).toBeLessThanOrEqual(UID_MAX);
    expect(p.desired).toEqual([{ iamName: 'alice', iamUserId: idOf('alice'), localName: 'alice', uid: c.uid }]);
    expect(p.notices).toEqual([]);
    expect(p.complete).toBe(true);
    expect(p.removalsWithheld).toBe(false);
  });

  test('entitled to sudo: the sudo group is in create-user', () => {
    const s = settings();
    const p = run(iam({ devs: ['alice', 'bob'], admins: ['alice'] }), host(s), s);
    expect(createUser(p, 'alice').groups).toEqual([MARKER, SUDO]);
    expect(createUser(p, 'bob').groups).toEqual([MARKER]);
  });

  test('LOCAL_GROUPS that exist, GROUP_MAP targets of the user\'s IAM groups', () => {
    const s = settings({ localGroups: ['docker', 'video'], groupMap: { ops: ['adm', 'systemd-journal'], dba: ['postgres'] } });
    const l = host(s, {}, [], { groups: { docker: {}, video: {}, adm: {}, 'systemd-journal': {}, postgres: {} } });
    const p = run(iam({ devs: ['alice', 'bob'], ops: ['alice'], dba: ['bob'] }), l, s);
    expect(createUser(p, 'alice').groups).toEqual([MARKER, 'docker', 'video', 'adm', 'systemd-journal']);
    expect(createUser(p, 'bob').groups).toEqual([MARKER, 'docker', 'video', 'postgres']);
    expect(p.notices).toEqual([]);
  });

  test('base groups (read-only group file) are joined through userdb, not in create-user', () => {
    const s = settings({ localGroups: ['docker', 'wheel'] });
    const l = host(s, {}, [], { groups: { docker: {}, wheel: { base: true } } });
    const p = run(iam({ devs: ['alice'] }), l, s);
    expect(lines(p)).toEqual([`create-user alice uid=hash [${MARKER},docker]`, 'add-member alice wheel userdb']);
  });

  test('a base marker group: create-user without it, then add-member via userdb', () => {
    const s = settings();
    const l = host(s, {}, [], { groups: { [MARKER]: { base: true } } });
    expect(lines(run(iam({ devs: ['alice'] }), l, s))).toEqual(['create-user alice uid=hash []', `add-member alice ${MARKER} userdb`]);
  });

  test('UID_MODE=auto: uid null, no uid notice', () => {
    const s = settings({ uidMode: 'auto' });
    const p = run(iam({ devs: ['alice', 'bob'] }), host(s), s);
    expect(actionsOf(p, 'create-user').map((a) => a.uid)).toEqual([null, null]);
    expect(p.desired.map((d) => d.uid)).toEqual([null, null]);
    expect(p.notices).toEqual([]);
  });

  test('users are planned in local-name order', () => {
    const s = settings();
    const p = run(iam({ devs: ['Carol', 'alice', 'Bob'] }), host(s), s);
    expect(actionsOf(p, 'create-user').map((a) => a.user)).toEqual(['alice', 'bob', 'carol']);
    expect(p.desired.map((d) => d.iamName)).toEqual(['alice', 'Bob', 'Carol']);
  });
});

describe('hash UIDs', () => {
  test('fleet stability: the same UserId gets the same UID on differently populated hosts', () => {
    const s = settings();
    const ids = { alice: 'AIDAALICE0000000001' };
    const a = run(iam({ devs: ['alice'] }, { ids }), host(s), s);
    const b = run(
      iam({ devs: ['alice', 'zed'] }, { ids }),
      host(s, { bob: 200_001, carol: 300_000 }, [], { users: { ec2: 1000 }, groups: { docker: { gid: 999 } } }),
      s,
    );
    expect(createUser(a, 'alice').uid).toBe(createUser(b, 'alice').uid);
    expect(createUser(a, 'alice').uid).toBe(hashUid('AIDAALICE0000000001', 0, UID_MIN, UID_MAX));
  });

  test('the UID follows the UserId, not the name', () => {
    const s = settings();
    const one = run(iam({ devs: ['alice'] }, { ids: { alice: 'AIDA1' } }), host(s), s);
    const two = run(iam({ devs: ['alice'] }, { ids: { alice: 'AIDA2' } }), host(s), s);
    expect(createUser(one, 'alice').uid).not.toBe(createUser(two, 'alice').uid);
    const renamed = run(iam({ devs: ['alicia'] }, { ids: { alicia: 'AIDA1' } }), host(s), s);
    expect(createUser(renamed, 'alicia').uid).toBe(createUser(one, 'alice').uid);
  });

  test.each([
    ['a local user', (uid: number) => ({ users: { other: uid } })],
    ['a local group', (uid: number) => ({ groups: { other: { gid: uid } } })],
    ['an existing managed user', (uid: number) => ({ users: { managed1: uid }, groups: { [MARKER]: { gid: 150, members: ['managed1'] } } })],
  ])('the stable UID is taken by %s: deterministic fallback and a uid_collision notice', (_what, taking) => {
    const s = settings();
    const stable = hashUid(idOf('alice'), 0, UID_MIN, UID_MAX);
    const i = iam({ devs: ['alice', 'managed1'] });
    const p = run(i, host(s, {}, [], taking(stable)), s);
    const uid = createUser(p, 'alice').uid;
    expect(uid).not.toBe(stable);
    expect(uid).toBe(hashUid(idOf('alice'), 1, UID_MIN, UID_MAX));
    expect(run(i, host(s, {}, [], taking(stable)), s)).toEqual(p);
    expect(noticesOf(p, 'uid_collision')).toEqual([expect.objectContaining({ level: 'warn', user: 'alice', iamName: 'alice' })]);
    expect(p.desired.find((d) => d.localName === 'alice')?.uid).toBe(uid);
  });

  test('two new users whose stable UIDs coincide get different UIDs', () => {
    // a 3-UID range: find two ids that hash to the same first probe
    const s = settings({ uidMin: 5000, uidMax: 5002 });
    const idsByFirst = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null; i++) {
      const id = `AIDA${i}`;
      const h = hashUid(id, 0, 5000, 5002);
      const seen = idsByFirst.get(h);
      if (seen) pair = [seen, id];
      else idsByFirst.set(h, id);
    }
    const p = run(iam({ devs: ['alice', 'bob'] }, { ids: { alice: pair[0], bob: pair[1] } }), host(s), s);
    const [a, b] = [createUser(p, 'alice').uid, createUser(p, 'bob').uid];
    expect(a).toBe(hashUid(pair[0], 0, 5000, 5002));
    expect(b).not.toBe(a);
    expect(b).toBe(stableUid(pair[1], 5000, 5002, new Set([a!])));
    expect(noticesOf(p, 'uid_collision').map((n) => n.user)).toEqual(['bob']);
  });

  test('many new users in a small range: all UIDs distinct, the rest uid_exhausted', () => {
    const s = settings({ uidMin: 7000, uidMax: 7004 });
    const names = Array.from({ length: 8 }, (_, i) => `user${i}`);
    const p = run(iam({ devs: names }), host(s), s);
    const uids = actionsOf(p, 'create-user').map((a) => a.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const u of uids) expect(u).toBeGreaterThanOrEqual(7000);
    expect(uids.length + noticesOf(p, 'uid_exhausted').length).toBe(8);
    expect(uids.length).toBeGreaterThanOrEqual(3);
    for (const n of noticesOf(p, 'uid_exhausted')) expect(p.desired.map((d) => d.localName)).not.toContain(n.user);
  });

  test('uid_exhausted: the user is skipped with an error, others are still created', () => {
    const s = settings({ uidMin: 7000, uidMax: 7000 });
    const p = run(iam({ devs: ['alice', 'bob'] }), host(s, {}, [], { users: { squat: 7000 } }), s);
    expect(actionsOf(p, 'create-user')).toEqual([]);
    expect(noticesOf(p, 'uid_exhausted').map((n) => [n.level, n.user])).toEqual([['error', 'alice'], ['error', 'bob']]);
    expect(p.desired).toEqual([]);
  });

  test('a half-created account in the registry keeps its recorded UID', () => {
    const s = settings();
    const l = host(s, {}, [], { registry: { alice: { uid: 333_333 } } });
    const p = run(iam({ devs: ['alice'] }), l, s);
    expect(createUser(p, 'alice').uid).toBe(333_333);
  });

  test.each([
    ['another UserId', { iamUserId: 'AIDAOLD', uid: 333_333 }, false],
    ['a UID now taken', { uid: 333_333 }, true],
    ['no UID', { uid: null }, false],
  ])('a registry entry with %s is not reused', (_w, reg, takeIt) => {
    const s = settings();
    const l = host(s, {}, [], { registry: { alice: reg }, users: takeIt ? { other: 333_333 } : {} });
    const uid = createUser(run(iam({ devs: ['alice'] }), l, s), 'alice').uid;
    expect(uid).toBe(hashUid(idOf('alice'), 0, UID_MIN, UID_MAX));
  });
});

describe('names', () => {
  test.each([
    ['Alice.Smith', 'alice.smith'],
    ['Carol+ops@corp.example', 'carol.plus.ops.at.corp.example'],
    ['a=b,c', 'a.equal.b.comma.c'],
    ['DAVE', 'dave'],
  ])('%j becomes local %j', (iamName, localName) => {
    const s = settings();
    const p = run(iam({ devs: [iamName] }), host(s), s);
    expect(createUser(p, localName)).toMatchObject({ iamName, iamUserId: idOf(iamName) });
    expect(p.desired).toEqual([expect.objectContaining({ iamName, localName })]);
  });

  test.each([
    ['x'.repeat(33), 'name_too_long'],
    ['a+b+c+d+e+f', 'name_too_long'],
    ['1alice', 'name_bad_first_char'],
    ['+ops', 'name_bad_first_char'],
    ['Root', 'name_reserved'],
  ])('%j is skipped (%s), the others are still created', (bad, code) => {
    const s = settings();
    const p = run(iam({ devs: ['alice', bad, 'zoe'] }), host(s), s);
    expect(actionsOf(p, 'create-user').map((a) => a.user)).toEqual(['alice', 'zoe']);
    expect(p.notices).toEqual([expect.objectContaining({ level: 'warn', code, iamName: bad })]);
    expect(p.desired.map((d) => d.iamName)).toEqual(['alice', 'zoe']);
  });

  // useradd --user-group cannot create an account named like an existing group: it would fail on every run.
  test('an IAM user whose local name is a local group: one name_is_group notice, skipped, not a failure', () => {
    const s = settings({ localGroups: ['users'] });
    const l = host(s, {}, [], { groups: { users: { gid: 100 }, docker: { gid: 999, members: ['alice'] }, shadow: { gid: 42 } } });
    const p = run(iam({ devs: ['Docker', 'alice', 'shadow', 'users'] }), l, s);
    expect(lines(p)).toEqual([`create-user alice uid=hash [${MARKER},users]`]);
    expect(noticesOf(p, 'name_is_group')).toEqual(['docker', 'shadow', 'users'].map((user) => expect.objectContaining({
      level: 'warn', user, iamName: user === 'docker' ? 'Docker' : user,
      message: expect.stringMatching(new RegExp(`IAM user ${user === 'docker' ? 'Docker' : user} skipped: .*local group ${user}`)),
    })));
    expect(codes(p)).toEqual(['name_is_group', 'name_is_group', 'name_is_group']);
    expect(p.desired.map((d) => d.localName)).toEqual(['alice']);
    expect(p).toMatchObject({ complete: true, accessComplete: true, removalsWithheld: false, stranded: [] });
  });

  test.each([MARKER, SUDO])('an IAM user named like the group %s, which this run creates, is skipped too', (group) => {
    const s = settings();
    const l = host(s);
    delete l.groups[group];
    const p = run(iam({ devs: [group, 'alice'] }), l, s);
    expect(actionsOf(p, 'create-user').map((a) => a.user)).toEqual(['alice']);
    expect(noticesOf(p, 'name_is_group')).toEqual([expect.objectContaining({ user: group, iamName: group })]);
  });

  test('an existing managed account whose own user group bears its name is not affected', () => {
    const s = settings();
    const l = host(s, { alice: 200_100 }, [], { groups: { alice: { gid: 200_100, members: [] } } });
    const p = run(iam({ devs: ['alice'] }), l, s);
    expect(p.actions).toEqual([]);
    expect(p.notices).toEqual([]);
    expect(p.desired.map((d) => d.localName)).toEqual(['alice']);
  });

  test('Bob and bob collide: both skipped with name_collision, others created', () => {
    const s = settings();
    const p = run(iam({ devs: ['Bob', 'alice', 'bob'] }), host(s), s);
    expect(actionsOf(p, 'create-user').map((a) => a.user)).toEqual(['alice']);
    expect(noticesOf(p, 'name_collision').map((n) => [n.iamName, n.user]).sort()).toEqual([['Bob', 'bob'], ['bob', 'bob']]);
    expect(p.desired.map((d) => d.localName)).toEqual(['alice']);
  });
});

describe('groups that must exist', () => {
  test.each([
    ['neither exists', {}, [`create-group ${MARKER}`, `create-group ${SUDO}`]],
    ['only the marker exists', { [MARKER]: {} }, [`create-group ${SUDO}`]],
    ['only sudo exists', { [SUDO]: {} }, [`create-group ${MARKER}`]],
    ['both exist', { [MARKER]: {}, [SUDO]: {} }, []],
  ])('sudo managed, %s', (_w, groups, expected) => {
    const s = settings();
    const p = run(iam({ devs: [] }), local({ groups, sudoers: 'x' }), s);
    expect(lines(p).filter((l) => l.startsWith('create-group'))).toEqual(expected);
  });

  test.each([[['admins']], ['all' as const]])('sudoersGroups %j: the sudo group is created', (sg) => {
    const s = settings({ sudoersGroups: sg });
    expect(actionsOf(run(iam({ devs: ['alice'] }), local(), s), 'create-group').map((a) => a.group)).toEqual([MARKER, SUDO]);
  });

  test('sudoersGroups null: only the marker group is created, nobody gets sudo', () => {
    const s = settings({ sudoersGroups: null });
    const p = run(iam({ devs: ['alice'], admins: ['alice'] }), local(), s);
    expect(lines(p)).toEqual([`create-group ${MARKER}`, `create-user alice uid=hash [${MARKER}]`]);
  });

  test('missing LOCAL_GROUPS / GROUP_MAP targets: one local_group_missing notice each, not joined', () => {
    const s = settings({ localGroups: ['docker', 'nope'], groupMap: { ops: ['adm', 'gone', 'nope'] } });
    const l = host(s, {}, [], { groups: { docker: {}, adm: {} } });
    const p = run(iam({ devs: ['alice'], ops: ['alice'] }), l, s);
    expect(noticesOf(p, 'local_group_missing').map((n) => n.message)).toEqual([
      'local group nope does not exist; nobody is added to it',
      'local group gone does not exist; nobody is added to it',
    ]);
    expect(createUser(p, 'alice').groups).toEqual([MARKER, 'docker', 'adm']);
    expect(actionsOf(p, 'create-group')).toEqual([]);
  });

  test('the marker and sudo groups in LOCAL_GROUPS are not reported missing: they are created', () => {
    const s = settings({ localGroups: [MARKER, SUDO] });
    const p = run(iam({ devs: ['alice'] }), local(), s);
    expect(codes(p)).toEqual([]);
    expect(createUser(p, 'alice').groups).toEqual([MARKER, SUDO]);
  });
});
