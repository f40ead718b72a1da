/** Planner: accounts that already exist — managed, unmanaged, protected, registered. */
import {
  type LocalSpec, settings, iam, idOf, host, run, actionsOf, lines, codes, noticesOf, touched, MARKER, SUDO,
} from '../../helpers/plan-fixtures';

describe('existing managed users', () => {
  test('in sync: no action, in desired with its current UID', () => {
    const s = settings();
    const p = run(iam({ devs: ['alice', 'bob'], admins: ['alice'] }), host(s, { alice: 200_100, bob: 200_200 }, ['alice']), s);
    expect(p.actions).toEqual([]);
    expect(p.notices).toEqual([]);
    expect(p.desired).toEqual([
      { iamName: 'alice', iamUserId: idOf('alice'), localName: 'alice', uid: 200_100 },
      { iamName: 'bob', iamUserId: idOf('bob'), localName: 'bob', uid: 200_200 },
    ]);
  });

  test('missing memberships are added (sudo, LOCAL_GROUPS, GROUP_MAP), via usermod or userdb', () => {
    const s = settings({ localGroups: ['docker', 'wheel'], groupMap: { ops: ['adm'] } });
    const l = host(s, { alice: 200_100 }, [], { groups: { docker: {}, wheel: { base: true }, adm: { base: true } } });
    const p = run(iam({ devs: ['alice'], admins: ['alice'], ops: ['alice'] }), l, s);
    expect(lines(p)).toEqual([
      'add-member alice docker usermod',
      'add-member alice wheel userdb',
      `add-member alice ${SUDO} usermod`,
      'add-member alice adm userdb',
    ]);
  });

  test('a userdb membership counts as membership', () => {
    const s = settings({ localGroups: ['wheel'] });
    const l = host(s, { alice: 200_100 }, [], { groups: { wheel: { base: true } }, userdb: ['alice:wheel'] });
    expect(run(iam({ devs: ['alice'] }), l, s).actions).toEqual([]);
  });

  test('a userdb marker membership makes the account managed', () => {
    const s = settings();
    const l = host(s, {}, [], { users: { alice: 200_100 }, groups: { [MARKER]: { base: true } }, userdb: [`alice:${MARKER}`] });
    const p = run(iam({ devs: [] }), l, s, true);
    expect(lines(p)).toEqual(['remove-user alice keepHome=true']);
  });

  test('sudo revoked when no longer in a sudoers group', () => {
    const s = settings();
    const p = run(iam({ devs: ['alice', 'bob'], admins: ['bob'] }), host(s, { alice: 200_100, bob: 200_200 }, ['alice', 'bob']), s);
    expect(lines(p)).toEqual([`remove-member alice ${SUDO} usermod`]);
    expect(actionsOf(p, 'remove-member')[0]!.reason).toMatch(/no longer entitled/);
  });

  test('a base sudo group is revoked via userdb', () => {
    const s = settings();
    const l = host(s, { alice: 200_100 }, [], { groups: { [SUDO]: { base: true } }, userdb: [`alice:${SUDO}`] });
    expect(lines(run(iam({ devs: ['alice'], admins: [] }), l, s))).toEqual([`remove-member alice ${SUDO} userdb`]);
  });

  test('LOCAL_GROUPS memberships are never removed, even when also a GROUP_MAP target', () => {
    const s = settings({ localGroups: ['docker'], groupMap: { ops: ['docker', 'adm'] } });
    const l = host(s, { alice: 200_100 }, [], { groups: { docker: { members: ['alice'] }, adm: { members: ['alice'] }, video: { members: ['alice'] } } });
    const p = run(iam({ devs: ['alice'], ops: [] }), l, s);
    expect(lines(p)).toEqual(['remove-member alice adm usermod']);
  });

  test('the sudo group in LOCAL_GROUPS is never revoked', () => {
    const s = settings({ localGroups: [SUDO] });
    const p = run(iam({ devs: ['alice'], admins: [] }), host(s, { alice: 200_100 }, ['alice']), s);
    expect(p.actions).toEqual([]);
  });

  test('GROUP_MAP memberships follow the mapped IAM group both ways', () => {
    const s = settings({ groupMap: { ops: ['adm'], dba: ['postgres'] } });
    const l = host(s, { alice: 200_100 }, [], { groups: { adm: { members: ['alice'] }, postgres: {} } });
    const p = run(iam({ devs: ['alice'], ops: [], dba: ['alice'] }), l, s);
    expect(lines(p)).toEqual(['add-member alice postgres usermod', 'remove-member alice adm usermod']);
  });

  test('a group reached through two IAM groups stays while either is held', () => {
    const s = settings({ groupMap: { ops: ['adm'], sre: ['adm'] } });
    const l = host(s, { alice: 200_100 }, [], { groups: { adm: { members: ['alice'] } } });
    expect(run(iam({ devs: ['alice'], ops: [], sre: ['alice'] }), l, s).actions).toEqual([]);
  });

  test('memberships in groups the tool does not manage are left alone', () => {
    const s = settings();
    const l = host(s, { alice: 200_100 }, [], { groups: { video: { members: ['alice'] }, wheel: { members: ['alice'] } } });
    expect(run(iam({ devs: ['alice'] }), l, s).actions).toEqual([]);
  });

  test("sudoersGroups 'all': everyone authorized gets sudo, nobody loses it", () => {
    const s = settings({ sudoersGroups: 'all' });
    const p = run(iam({ devs: ['alice', 'bob'] }), host(s, { alice: 200_100, bob: 200_200 }, ['bob']), s);
    expect(lines(p)).toEqual([`add-member alice ${SUDO} usermod`]);
  });

  test('sudoersGroups null: no sudo group, no sudoers file, existing sudo memberships untouched', () => {
    const s = settings({ sudoersGroups: null });
    const l = host(s, { alice: 200_100, bob: 200_200 }, ['alice'], { sudoers: null });
    const p = run(iam({ devs: ['alice', 'bob'], admins: ['bob'] }), l, s);
    expect(p.actions).toEqual([]);
    const fresh = run(iam({ devs: ['alice'], admins: ['alice'] }), host(s, {}, [], { groups: { [SUDO]: { gid: 151 } }, sudoers: null }), s);
    expect(fresh.actions.map((a) => a.kind)).toEqual(['create-user']);
    expect(actionsOf(fresh, 'create-user')[0]!.groups).toEqual([MARKER]);
  });

  test('sudoersGroups null with the sudo group name in LOCAL_GROUPS but absent: reported missing, not joined', () => {
    const s = settings({ sudoersGroups: null, localGroups: [SUDO] });
    const l = host(s, {}, [], { groups: { [MARKER]: { gid: 150 } } });
    delete l.groups[SUDO];
    const p = run(iam({ devs: ['alice'] }), l, s);
    expect(codes(p)).toEqual(['local_group_missing']);
    expect(lines(p)).toEqual([`create-user alice uid=hash [${MARKER}]`]);
  });
});

describe('accounts the tool does not own', () => {
  test('an unmanaged account with the mapped name: unmanaged_conflict, untouched, not desired', () => {
    const s = settings({ localGroups: ['docker'] });
    const l = host(s, { bob: 200_200 }, [], { users: { alice: 200_100 }, groups: { docker: {} } });
    const p = run(iam({ devs: ['Alice', 'bob'], admins: ['Alice'] }), l, s);
    expect(noticesOf(p, 'unmanaged_conflict')).toEqual([expect.objectContaining({ level: 'warn', user: 'alice', iamName: 'Alice' })]);
    expect(touched(p)).not.toContain('alice');
    expect(p.desired.map((d) => d.localName)).toEqual(['bob']);
    expect(lines(p)).toEqual(['add-member bob docker usermod']);
  });

  test('an unmanaged account that IAM no longer lists is not removed', () => {
    const s = settings();
    const p = run(iam({ devs: [] }), host(s, {}, [], { users: { ec2: 200_500 } }), s, true);
    expect(p.actions).toEqual([]);
    expect(p.notices).toEqual([]);
  });

  test.each([
    ['not in the marker group', false],
    ['in the marker group, of no authorized IAM user', true],
  ])('an account below UID_MIN, %s: protected_account, untouched, never removed', (_w, marked) => {
    const s = settings();
    // (a registry entry with the account's UID would make it ours: see plan-uid-range.test.ts; a
    // marked account named after an authorized IAM user is aws-ec2-ssh's, adopted: plan-legacy.test.ts)
    const l = host(s, {}, [], { users: { alice: 1000, ops: 1001 }, groups: { [MARKER]: { gid: 150, members: marked ? ['ops'] : [] } }, registry: marked ? { ops: { uid: 1002 } } : {} });
    const p = run(iam({ devs: ['alice'], admins: ['alice'] }), l, s);
    expect(noticesOf(p, 'protected_account')).toEqual([expect.objectContaining({ user: 'alice', iamName: 'alice' })]);
    expect(p.actions).toEqual([]);
    expect(p.desired).toEqual([]);
    const gone = run(iam({ devs: [] }), l, s, true);
    expect(touched(gone)).toEqual([]);
  });

  test('UID_MIN itself is managed, one below is not (marked, not registered)', () => {
    const s = settings({ uidMin: 5000 });
    const l = host(s, {}, [], { users: { at: 5000, below: 4999 }, groups: { [MARKER]: { gid: 150, members: ['at', 'below'] } } });
    expect(lines(run(iam({ devs: [] }), l, s, true))).toEqual(['remove-user at keepHome=true']);
  });
});

describe('registry', () => {
  test('registered (same uid) but not in the marker group: managed, marker repaired', () => {
    const s = settings();
    const l = host(s, {}, [], { users: { alice: 200_100 }, registry: { alice: {} } });
    const p = run(iam({ devs: ['alice'] }), l, s);
    expect(lines(p)).toEqual([`add-member alice ${MARKER} usermod`]);
    expect(p.desired).toEqual([expect.objectContaining({ localName: 'alice', uid: 200_100 })]);
  });

  test('registered with uid null (auto mode): managed whatever its uid', () => {
    const s = settings({ uidMode: 'auto' });
    const l = host(s, {}, [], { users: { alice: 200_100 }, registry: { alice: { uid: null } } });
    expect(lines(run(iam({ devs: ['alice'] }), l, s))).toEqual([`add-member alice ${MARKER} usermod`]);
    expect(lines(run(iam({ devs: [] }), l, s, true))).toEqual(['remove-user alice keepHome=true']);
  });

  test('registered with another uid and not marked: registry_mismatch, left alone', () => {
    const s = settings();
    const l = host(s, {}, [], { users: { alice: 200_100 }, registry: { alice: { uid: 200_999 } } });
    const p = run(iam({ devs: ['alice'] }), l, s);
    expect(codes(p)).toEqual(['unmanaged_conflict', 'registry_mismatch']);
    expect(p.actions).toEqual([]);
    const gone = run(iam({ devs: [] }), l, s, true);
    expect(gone.actions).toEqual([]);
    expect(codes(gone)).toEqual(['registry_mismatch']);
  });

  test.each<[string, LocalSpec]>([
    ['registered', { users: { alice: 200_100 }, registry: { alice: { iamUserId: 'AIDAOLD' } } }],
    ['marked and registered', { users: { alice: 200_100 }, groups: { [MARKER]: { gid: 150, members: ['alice'] } }, registry: { alice: { iamUserId: 'AIDAOLD' } } }],
  ])('%s with another UserId: identity_changed, no action, not desired', (_w, more) => {
    const s = settings({ localGroups: ['docker'] });
    const l = host(s, {}, [], { ...more, groups: { ...more.groups, docker: {} } });
    const p = run(iam({ devs: ['alice', 'bob'], admins: ['alice'] }), l, s);
    expect(noticesOf(p, 'identity_changed')).toEqual([expect.objectContaining({ level: 'error', user: 'alice', iamName: 'alice' })]);
    expect(touched(p)).not.toContain('alice');
    expect(p.desired.map((d) => d.localName)).toEqual(['bob']);
    expect(p.actions.map((a) => a.kind)).toEqual(['create-user']);
  });

  test('remove-user names the IAM user from the registry, or null', () => {
    const s = settings();
    const l = host(s, { alice: 200_100 }, [], { users: { bob: 200_200 }, groups: { [MARKER]: { gid: 150, members: ['alice', 'bob'] } }, registry: { alice: { iamName: 'Alice' } } });
    const p = run(iam({ devs: [] }), l, s, true);
    expect(actionsOf(p, 'remove-user').map((a) => [a.user, a.iamName])).toEqual([['alice', 'Alice'], ['bob', null]]);
  });
});

describe('names shared with Object.prototype', () => {
  test.each(['constructor', 'Constructor', '__proto__'])('IAM user %j is created like any other', (iamName) => {
    const s = settings();
    const p = run(iam({ devs: [iamName, 'alice'] }), host(s), s);
    expect(actionsOf(p, 'create-user').map((a) => a.user).sort()).toEqual(['alice', iamName.toLowerCase()].sort());
    expect(p.notices).toEqual([]);
  });

  test.each(['toString', 'constructor', 'hasOwnProperty'])('a failed read of IAM group %j withholds removals instead of throwing', (g) => {
    const s = settings({ authorizedGroups: ['devs', g], sudoersGroups: [g], groupMap: { [g]: ['adm'] } });
    const i = iam({ devs: ['alice'] }, { failed: [g] });
    const p = run(i, host(s, { alice: 200_100, bob: 200_200 }, ['alice'], { groups: { adm: { members: ['alice'] } } }), s);
    expect(p.removalsWithheld).toBe(true);
    expect(p.accessComplete).toBe(false);
    expect(p.actions).toEqual([]);
  });
});
