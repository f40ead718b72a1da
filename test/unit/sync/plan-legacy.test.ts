/**
 * Planner: a host where aws-ec2-ssh made the accounts. Its accounts (marker group, named from an
 * authorized IAM user with case kept) are adopted in place; its per-user sudoers files give way to
 * the one drop-in; USERDEL_ARGS' --remove deletes no home.
 */
import {
  type LocalSpec, settings, iam, idOf, host, run, actionsOf, lines, codes, noticesOf, touched, MARKER, SUDO,
} from '../../helpers/plan-fixtures';
import { formatPlan, planJson } from '../../../src/sync/plan-format';
import type { PlanSettings } from '../../../src/sync/plan';

/** What aws-ec2-ssh writes into /etc/sudoers.d/<name with . replaced by a space>. */
const legacyRule = (user: string) => `${user} ALL=(ALL) NOPASSWD:ALL\n`;

/** aws-ec2-ssh's accounts (name -> uid), all in the marker group, none registered. */
function legacyHost(s: PlanSettings, accounts: Record<string, number>, more: LocalSpec = {}) {
  return host(s, {}, [], {
    ...more,
    users: { ...accounts, ...more.users },
    groups: { [MARKER]: { gid: 150, members: Object.keys(accounts) }, ...more.groups },
  });
}

/** The same host after adoption: registered as adopted with their UIDs. */
function adoptedHost(s: PlanSettings, accounts: Record<string, number>, sudo: string[] = [], more: LocalSpec = {}) {
  return host(s, accounts, sudo, { ...more, registry: { ...Object.fromEntries(Object.keys(accounts).map((n) => [n, { adopted: true }])), ...more.registry } });
}

describe('adoption of the accounts aws-ec2-ssh made', () => {
  test('an upper-case account is adopted in place: no second account, same name and UID; the one below UID_MIN too, not protected', () => {
    const s = settings();
    const l = legacyHost(s, { 'Alice.Smith': 1001, bob: 1002 });
    const p = run(iam({ devs: ['Alice.Smith', 'bob'], admins: ['Alice.Smith', 'bob'] }), l, s);
    expect(lines(p)).toEqual([
      'adopt-user Alice.Smith uid=1001',
      'adopt-user bob uid=1002',
      `add-member Alice.Smith ${SUDO} usermod`,
      `add-member bob ${SUDO} usermod`,
    ]);
    expect(actionsOf(p, 'adopt-user')[0]).toEqual({
      kind: 'adopt-user', user: 'Alice.Smith', iamName: 'Alice.Smith', iamUserId: idOf('Alice.Smith'), uid: 1001, reason: expect.stringMatching(/aws-ec2-ssh/),
    });
    expect(touched(p)).not.toContain('alice.smith');
    expect(p.notices).toEqual([]);
    expect(p.stranded).toEqual([]);
    expect(p.desired).toEqual([
      { iamName: 'Alice.Smith', iamUserId: idOf('Alice.Smith'), localName: 'Alice.Smith', uid: 1001 },
      { iamName: 'bob', iamUserId: idOf('bob'), localName: 'bob', uid: 1002 },
    ]);
  });

  test('once adopted, a second run plans nothing: not stranded below UID_MIN, not protected', () => {
    const s = settings();
    const l = adoptedHost(s, { 'Alice.Smith': 1001, bob: 1002 }, ['Alice.Smith']);
    const p = run(iam({ devs: ['Alice.Smith', 'bob'], admins: ['Alice.Smith'] }), l, s);
    expect(p.actions).toEqual([]);
    expect(p.notices).toEqual([]);
    expect(p.stranded).toEqual([]);
    expect(p.desired.map((d) => [d.localName, d.uid])).toEqual([['Alice.Smith', 1001], ['bob', 1002]]);
  });

  test('an adopted account below UID_MIN is given what IAM grants and loses what it no longer earns', () => {
    const s = settings();
    const grant = run(iam({ devs: ['bob'], admins: ['bob'] }), adoptedHost(s, { bob: 1002 }), s);
    expect(lines(grant)).toEqual([`add-member bob ${SUDO} usermod`]);
    const revoke = run(iam({ devs: ['bob'], admins: [] }), adoptedHost(s, { bob: 1002 }, ['bob']), s);
    expect(lines(revoke)).toEqual([`remove-member bob ${SUDO} usermod`]);
  });

  test('an adopted account whose IAM user left is removed under the usual guards, its home kept', () => {
    const s = settings({ maxRemovals: 1 });
    const l = adoptedHost(s, { 'Alice.Smith': 1001, bob: 1002, carol: 1003 });
    expect(lines(run(iam({ devs: ['bob', 'carol'] }), l, s))).toEqual(['remove-user Alice.Smith keepHome=true']);
    const two = run(iam({ devs: ['carol'] }), l, s);
    expect(two.actions).toEqual([]);
    expect(codes(two)).toEqual(['removal_refused']);
    const failed = run(iam({ devs: ['carol'] }, { failed: ['devs'] }), l, s, true);
    expect(actionsOf(failed, 'remove-user')).toEqual([]);
  });

  test('a marked account of no authorized IAM user: removed from UID_MIN up, as before; below UID_MIN never touched', () => {
    const s = settings();
    const l = legacyHost(s, { 'Dave.Old': 1005, 'Eve.Old': 200_500, bob: 1002 });
    const p = run(iam({ devs: ['bob'] }), l, s);
    expect(lines(p)).toEqual(['adopt-user bob uid=1002', 'remove-user Eve.Old keepHome=true']);
    expect(touched(p)).not.toContain('Dave.Old');
  });

  test('an account named as aws-ec2-ssh would but outside the marker group is not adopted, and no second account is made', () => {
    const s = settings();
    const l = host(s, {}, [], { users: { 'Alice.Smith': 1001 } });
    const p = run(iam({ devs: ['Alice.Smith', 'bob'] }), l, s);
    expect(lines(p)).toEqual(['create-user bob uid=hash [iam-synced-users]']);
    expect(noticesOf(p, 'legacy_not_adopted')).toEqual([expect.objectContaining({ level: 'warn', user: 'Alice.Smith', iamName: 'Alice.Smith', message: expect.stringMatching(/not a member of iam-synced-users/) })]);
    expect(p.desired.map((d) => d.localName)).toEqual(['bob']);
  });

  test.each<[string, string, Record<string, number>]>([
    ['uid 0', 'Alice.Smith', { 'Alice.Smith': 0 }],
    ['a reserved name in another case', 'Root', { Root: 1003 }],
  ])('a marked account with %s is not adopted', (_why, name, users) => {
    const s = settings();
    const p = run(iam({ devs: [name, 'bob'] }), legacyHost(s, users, { users: { bob: 1002 }, groups: { [MARKER]: { gid: 150, members: [name, 'bob'] } } }), s);
    expect(touched(p)).not.toContain(name);
    expect(touched(p)).not.toContain(name.toLowerCase());
    expect(noticesOf(p, 'legacy_not_adopted')).toEqual([expect.objectContaining({ user: name })]);
    expect(p.desired.map((d) => d.localName)).toEqual(['bob']);
  });

  test('an IAM name iam-ssh cannot map (1alice) whose aws-ec2-ssh account exists: adopted, no skip notice', () => {
    const s = settings();
    const p = run(iam({ devs: ['1alice', 'bob'] }), legacyHost(s, { '1alice': 1001, bob: 1002 }), s);
    expect(lines(p)).toEqual(['adopt-user 1alice uid=1001', 'adopt-user bob uid=1002']);
    expect(p.notices).toEqual([]);
    const none = run(iam({ devs: ['2bob'] }), host(s), s);
    expect(codes(none)).toEqual(['name_bad_first_char']);
  });

  test('a spelled-out name keeps its case: Carol+Ops@Corp.example is Carol.plus.Ops.at.Corp.example', () => {
    const s = settings();
    const p = run(iam({ devs: ['Carol+Ops@Corp.example'] }), legacyHost(s, { 'Carol.plus.Ops.at.Corp.example': 1004 }), s);
    expect(lines(p)).toEqual(['adopt-user Carol.plus.Ops.at.Corp.example uid=1004']);
  });

  test('iam-ssh already made the lower-case account beside it: that one stays, the old one is neither adopted nor removed', () => {
    const s = settings();
    const l = legacyHost(s, { 'Alice.Smith': 200_001 }, {
      users: { 'alice.smith': 200_123 }, groups: { [MARKER]: { gid: 150, members: ['Alice.Smith', 'alice.smith'] } },
      registry: { 'alice.smith': { iamName: 'Alice.Smith' } },
    });
    const p = run(iam({ devs: ['Alice.Smith', 'bob'] }), l, s, true);
    expect(lines(p)).toEqual(['create-user bob uid=hash [iam-synced-users]']);
    expect(noticesOf(p, 'legacy_duplicate')).toEqual([expect.objectContaining({ user: 'Alice.Smith', iamName: 'Alice.Smith' })]);
    expect(p.desired.map((d) => d.localName)).toEqual(['alice.smith', 'bob']);
  });

  test('an adopted account whose IAM user was re-created (new UserId) is left alone, and no new account is made', () => {
    const s = settings();
    const l = adoptedHost(s, { 'Alice.Smith': 1001 }, [], { registry: { 'Alice.Smith': { adopted: true, iamUserId: 'AIDAOLD' } } });
    const p = run(iam({ devs: ['Alice.Smith', 'bob'] }), l, s);
    expect(noticesOf(p, 'identity_changed')).toEqual([expect.objectContaining({ user: 'Alice.Smith' })]);
    expect(lines(p)).toEqual(['create-user bob uid=hash [iam-synced-users]']);
  });
});

describe('renaming to the lower-case form: only when asked', () => {
  test.each<[PlanSettings['adoptedNames'], string]>([
    ['rename', 'rename-user Alice.Smith -> alice.smith'],
    ['rename-home', 'rename-user Alice.Smith -> alice.smith moveHome'],
  ])('ADOPTED_NAMES=%s: adopted, then renamed after its memberships are set', (adoptedNames, rename) => {
    const s = settings({ adoptedNames });
    const p = run(iam({ devs: ['Alice.Smith', 'bob'], admins: ['Alice.Smith'] }), legacyHost(s, { 'Alice.Smith': 1001, bob: 1002 }), s);
    expect(lines(p)).toEqual(['adopt-user Alice.Smith uid=1001', 'adopt-user bob uid=1002', `add-member Alice.Smith ${SUDO} usermod`, rename]);
    expect(p.desired.map((d) => [d.localName, d.uid])).toEqual([['alice.smith', 1001], ['bob', 1002]]);
    const later = run(iam({ devs: ['Alice.Smith', 'bob'], admins: ['Alice.Smith'] }), adoptedHost(s, { 'Alice.Smith': 1001, bob: 1002 }, ['Alice.Smith']), s);
    expect(lines(later)).toEqual([rename]);
  });

  test('the default keeps the name', () => {
    const s = settings();
    expect(s.adoptedNames ?? 'keep').toBe('keep');
    expect(actionsOf(run(iam({ devs: ['Alice.Smith'] }), adoptedHost(s, { 'Alice.Smith': 1001 }), s), 'rename-user')).toEqual([]);
  });

  test('a lower-case name already taken by an account or a group blocks the rename, with a notice', () => {
    const s = settings({ adoptedNames: 'rename' });
    for (const more of [{ users: { 'alice.smith': 5000 } }, { groups: { 'alice.smith': { gid: 5000 } } }] as LocalSpec[]) {
      const p = run(iam({ devs: ['Alice.Smith'] }), adoptedHost(s, { 'Alice.Smith': 1001 }, [], more), s);
      expect(actionsOf(p, 'rename-user')).toEqual([]);
      expect(noticesOf(p, 'rename_blocked')).toEqual([expect.objectContaining({ user: 'Alice.Smith' })]);
      expect(p.desired.map((d) => d.localName)).toEqual(['Alice.Smith']);
    }
  });
});

describe("aws-ec2-ssh's per-user sudoers files", () => {
  test("a sudo group member's file goes once iam-ssh's rule grants the user; a non-member's goes, and with it sudo", () => {
    const s = settings();
    const l = legacyHost(s, { 'Alice.Smith': 1001, bob: 1002 }, { legacySudoers: { 'Alice Smith': legacyRule('Alice.Smith'), bob: legacyRule('bob') } });
    const p = run(iam({ devs: ['Alice.Smith', 'bob'], admins: ['Alice.Smith'] }), l, s);
    expect(lines(p)).toEqual([
      'adopt-user Alice.Smith uid=1001',
      'adopt-user bob uid=1002',
      `add-member Alice.Smith ${SUDO} usermod`,
      `remove-legacy-sudoers Alice.Smith "/etc/sudoers.d/Alice Smith" grant=${SUDO}`,
      'remove-legacy-sudoers bob "/etc/sudoers.d/bob" grant=-',
    ]);
    expect(actionsOf(p, 'remove-legacy-sudoers')[1]).toMatchObject({ content: legacyRule('bob'), reason: expect.stringMatching(/loses sudo/) });
  });

  test('the new drop-in is written before any legacy file goes', () => {
    const s = settings();
    const l = legacyHost(s, { 'Alice.Smith': 1001 }, { sudoers: null, groups: { [MARKER]: { gid: 150, members: ['Alice.Smith'] } }, legacySudoers: { 'Alice Smith': legacyRule('Alice.Smith') } });
    delete l.groups[SUDO];
    expect(lines(run(iam({ devs: ['Alice.Smith'], admins: ['Alice.Smith'] }), l, s))).toEqual([
      `create-group ${SUDO}`, 'write-sudoers', 'adopt-user Alice.Smith uid=1001', `add-member Alice.Smith ${SUDO} usermod`,
      `remove-legacy-sudoers Alice.Smith "/etc/sudoers.d/Alice Smith" grant=${SUDO}`,
    ]);
  });

  test('files that are not exactly what aws-ec2-ssh writes, or of accounts iam-ssh does not manage, are left alone', () => {
    const s = settings();
    const l = adoptedHost(s, { 'Alice.Smith': 1001 }, [], {
      users: { ubuntu: 1000 },
      legacySudoers: { 'Alice Smith': 'Alice.Smith ALL=(ALL) ALL\n', ubuntu: legacyRule('ubuntu'), 'Alice.Smith': legacyRule('Alice.Smith') },
    });
    expect(run(iam({ devs: ['Alice.Smith', 'ubuntu'] }), l, s).actions.filter((a) => a.kind === 'remove-legacy-sudoers')).toEqual([]);
  });

  test('the same rule without its final line break is still aws-ec2-ssh\'s', () => {
    const s = settings();
    const l = adoptedHost(s, { bob: 1002 }, [], { legacySudoers: { bob: 'bob ALL=(ALL) NOPASSWD:ALL' } });
    expect(lines(run(iam({ devs: ['bob'] }), l, s))).toEqual(['remove-legacy-sudoers bob "/etc/sudoers.d/bob" grant=-']);
  });

  test('SUDOERS_GROUPS empty (sudo not managed): the files stay, with a notice naming them', () => {
    const s = settings({ sudoersGroups: null });
    const l = adoptedHost(s, { 'Alice.Smith': 1001 }, [], { sudoers: null, legacySudoers: { 'Alice Smith': legacyRule('Alice.Smith') } });
    const p = run(iam({ devs: ['Alice.Smith'] }), l, s);
    expect(p.actions).toEqual([]);
    expect(noticesOf(p, 'legacy_sudoers_unmanaged')).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringContaining('/etc/sudoers.d/Alice Smith') })]);
  });

  test('a failed read of a sudoers group keeps the file of a user it may list', () => {
    const s = settings();
    const l = adoptedHost(s, { 'Alice.Smith': 1001 }, [], { legacySudoers: { 'Alice Smith': legacyRule('Alice.Smith') } });
    const p = run(iam({ devs: ['Alice.Smith'] }, { failed: ['admins'] }), l, s);
    expect(actionsOf(p, 'remove-legacy-sudoers')).toEqual([]);
    expect(codes(p)).toEqual(['iam_read_failed', 'legacy_sudoers_deferred']);
  });

  test("a removed account's file goes with it, before the account; a withheld removal keeps both", () => {
    const s = settings({ maxRemovals: 1 });
    const l = adoptedHost(s, { 'Dave.Old': 1005, carol: 1003, erin: 1006 }, [], { legacySudoers: { 'Dave Old': legacyRule('Dave.Old') } });
    expect(lines(run(iam({ devs: ['carol', 'erin'] }), l, s))).toEqual([
      'remove-legacy-sudoers Dave.Old "/etc/sudoers.d/Dave Old" grant=-', 'remove-user Dave.Old keepHome=true',
    ]);
    expect(run(iam({ devs: ['carol'] }), l, s).actions).toEqual([]);
  });
});

describe('homes: only REMOVE_HOME deletes one', () => {
  test("USERDEL_ARGS' --remove (aws-ec2-ssh's default) deletes no home; the plan says what it would have done", () => {
    const s = settings({ userdelArgsRemove: true });
    const l = adoptedHost(s, { 'Alice.Smith': 1001, bob: 1002 });
    const p = run(iam({ devs: ['bob'] }), l, s);
    expect(lines(p)).toEqual(['remove-user Alice.Smith keepHome=true']);
    expect(actionsOf(p, 'remove-user')[0]).toMatchObject({ userdelArgsRemove: true });
    expect(noticesOf(p, 'userdel_remove_ignored')).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringMatching(/REMOVE_HOME=yes/) })]);
    const text = formatPlan(p);
    expect(text).toMatch(/remove-user\s+Alice\.Smith\s+IAM Alice\.Smith, home kept \(USERDEL_ARGS --remove would delete it; only REMOVE_HOME=yes does\)/);
    expect(JSON.parse(planJson(p)).actions[0]).toMatchObject({ kind: 'remove-user', keepHome: true, userdelArgsRemove: true });
  });

  test('REMOVE_HOME=yes deletes it, with or without USERDEL_ARGS', () => {
    for (const userdelArgsRemove of [false, true]) {
      const s = settings({ removeHome: true, userdelArgsRemove });
      const p = run(iam({ devs: ['bob'] }), adoptedHost(s, { 'Alice.Smith': 1001, bob: 1002 }), s);
      expect(lines(p)).toEqual(['remove-user Alice.Smith keepHome=false']);
      expect(codes(p)).toEqual([]);
    }
  });
});

describe('--dry-run shows each change', () => {
  test('adoption, renaming and the sudoers files in the text and JSON plans', () => {
    const s = settings({ adoptedNames: 'rename' });
    const l = legacyHost(s, { 'Alice.Smith': 1001 }, { legacySudoers: { 'Alice Smith': legacyRule('Alice.Smith') } });
    const p = run(iam({ devs: ['Alice.Smith'], admins: ['Alice.Smith'] }), l, s);
    const text = formatPlan(p);
    expect(text).toMatch(/adopt-user\s+Alice\.Smith\s+IAM Alice\.Smith, uid 1001 kept/);
    expect(text).toMatch(/rename-user\s+Alice\.Smith\s+to alice\.smith, home not moved/);
    expect(text).toMatch(new RegExp(`remove-legacy-sudoers\\s+Alice\\.Smith\\s+/etc/sudoers\\.d/Alice Smith, after ${SUDO} grants sudo`));
    expect(JSON.parse(planJson(p)).actions.map((a: { kind: string }) => a.kind)).toEqual(['adopt-user', 'add-member', 'remove-legacy-sudoers', 'rename-user']);
  });
});
