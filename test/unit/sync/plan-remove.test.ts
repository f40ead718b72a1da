/** Planner: removals and their guards, the sudoers drop-in, and the order of actions. */
import { sudoersText } from '../../../src/sync/plan';
import {
  settings, iam, host, local, run, actionsOf, lines, codes, noticesOf, MARKER, SUDO,
} from '../../helpers/plan-fixtures';

const managed = { alice: 200_100, bob: 200_200, carol: 200_300 };

describe('removal', () => {
  test.each([
    [false, true],
    [true, false],
  ])('an unauthorized managed user is removed (removeHome %s -> keepHome %s)', (removeHome, keepHome) => {
    const s = settings({ removeHome });
    const p = run(iam({ devs: ['alice', 'bob'] }), host(s, managed), s);
    expect(actionsOf(p, 'remove-user')).toEqual([
      { kind: 'remove-user', user: 'carol', iamName: 'carol', keepHome, reason: 'no longer a member of the authorized IAM groups' },
    ]);
    expect(p.removalsWithheld).toBe(false);
    expect(p.desired.map((d) => d.localName)).toEqual(['alice', 'bob']);
  });

  test('a removed user is not also given remove-member actions', () => {
    const s = settings({ groupMap: { ops: ['adm'] } });
    const l = host(s, managed, ['carol'], { groups: { adm: { members: ['carol'] } } });
    expect(lines(run(iam({ devs: ['alice', 'bob'], ops: [] }), l, s))).toEqual(['remove-user carol keepHome=true']);
  });

  // A failed IAM read withholds only the removals that depend on it: plan-partial.test.ts.

  test.each([
    [2, false, 'remove'],
    [1, false, 'refuse'],
    [1, true, 'remove'],
    [0, false, 'refuse'],
    [0, true, 'remove'],
  ])('two leaving, maxRemovals %d, force %s: %s', (maxRemovals, force, outcome) => {
    const s = settings({ maxRemovals });
    const p = run(iam({ devs: ['alice'] }), host(s, managed), s, force);
    if (outcome === 'remove') {
      expect(lines(p)).toEqual(['remove-user bob keepHome=true', 'remove-user carol keepHome=true']);
      expect(p.removalsWithheld).toBe(false);
      expect(p.notices).toEqual([]);
    } else {
      expect(p.actions).toEqual([]);
      expect(p.removalsWithheld).toBe(true);
      expect(p.notices).toEqual([expect.objectContaining({ level: 'error', code: 'removal_refused', message: expect.stringContaining('MAX_REMOVALS=') })]);
    }
  });

  test('removing every managed user is refused even within maxRemovals; force allows it', () => {
    const s = settings();
    const p = run(iam({ devs: [] }), host(s, managed), s);
    expect(p.actions).toEqual([]);
    expect(p.removalsWithheld).toBe(true);
    expect(noticesOf(p, 'removal_refused')[0]!.message).toMatch(/every managed user \(3\)/);
    const forced = run(iam({ devs: [] }), host(s, managed), s, true);
    expect(lines(forced)).toEqual(['remove-user alice keepHome=true', 'remove-user bob keepHome=true', 'remove-user carol keepHome=true']);
  });

  test('the last managed user may go when someone else is being created', () => {
    const s = settings();
    const p = run(iam({ devs: ['dave'] }), host(s, { alice: 200_100 }), s);
    expect(lines(p)).toEqual([`create-user dave uid=hash [${MARKER}]`, 'remove-user alice keepHome=true']);
  });

  test('everyone left is in conflict: desired is empty, so removal of the rest is refused', () => {
    const s = settings();
    const l = host(s, { alice: 200_100 }, [], { users: { bob: 200_200 } });
    const p = run(iam({ devs: ['bob'] }), l, s);
    expect(codes(p)).toEqual(['unmanaged_conflict', 'removal_refused']);
    expect(p.actions).toEqual([]);
  });

  test('a managed user whose IAM name now collides is not removed', () => {
    const s = settings();
    const p = run(iam({ devs: ['alice', 'Bob', 'bob'] }), host(s, managed), s);
    expect(lines(p)).toEqual(['remove-user carol keepHome=true']);
    expect(codes(p)).toEqual(['name_collision', 'name_collision', 'removal_skipped_collision']);
    expect(noticesOf(p, 'removal_skipped_collision')[0]!.user).toBe('bob');
  });

  test('a collision-only departure does not count toward the guards', () => {
    const s = settings({ maxRemovals: 0 });
    const p = run(iam({ devs: ['Bob', 'bob'] }), host(s, { bob: 200_200 }), s);
    expect(p.actions).toEqual([]);
    expect(p.removalsWithheld).toBe(false);
    expect(codes(p)).not.toContain('removal_refused');
  });

  test('a change of case in IAM keeps the account (same local name, same UserId)', () => {
    const s = settings();
    const ids = { CAROL: 'AIDACAROLID' };
    const p = run(iam({ devs: ['alice', 'bob', 'CAROL'] }, { ids }), host(s, managed), s);
    expect(p.actions).toEqual([]);
    expect(p.desired.find((d) => d.localName === 'carol')).toEqual({ iamName: 'CAROL', iamUserId: 'AIDACAROLID', localName: 'carol', uid: 200_300 });
  });
});

describe('sudoers drop-in', () => {
  test('sudoersText names the group and the rule', () => {
    expect(sudoersText(settings({ sudoersGroups: ['admins', 'ops'] }))).toBe(
      `# Managed by iam-ssh sync; changes are overwritten. Members of ${SUDO} are IAM users of: admins, ops\n%${SUDO} ALL=(ALL) NOPASSWD:ALL\n`,
    );
    expect(sudoersText(settings({ sudoersGroups: 'all', sudoLocalGroup: 'wheel2', sudoRule: 'ALL=(ALL) ALL' }))).toBe(
      '# Managed by iam-ssh sync; changes are overwritten. Members of wheel2 are IAM users of: every authorized group\n%wheel2 ALL=(ALL) ALL\n',
    );
  });

  test.each([
    ['missing', null, 'sudo rule for the sudo group'],
    ['different', '%iam-ssh-sudo ALL=(ALL) ALL\n', 'sudo rule changed'],
    ['the same but without the final newline', sudoersText(settings()).trimEnd(), 'sudo rule changed'],
  ])('written when %s', (_w, content, reason) => {
    const s = settings();
    const p = run(iam({ devs: [] }), host(s, {}, [], { sudoers: content }), s);
    expect(actionsOf(p, 'write-sudoers')).toEqual([{ kind: 'write-sudoers', content: sudoersText(s), reason }]);
  });

  test('not written when current; not written at all when sudo is unmanaged', () => {
    const s = settings();
    expect(run(iam({ devs: [] }), host(s), s).actions).toEqual([]);
    const off = settings({ sudoersGroups: null });
    expect(actionsOf(run(iam({ devs: [] }), host(off, {}, [], { sudoers: null }), off), 'write-sudoers')).toEqual([]);
    expect(actionsOf(run(iam({ devs: [] }), host(off, {}, [], { sudoers: 'stale' }), off), 'write-sudoers')).toEqual([]);
  });

  test('a changed sudo rule or sudoers group list rewrites the file', () => {
    const s = settings();
    const l = host(s);
    expect(actionsOf(run(iam({ devs: [] }), l, settings({ sudoRule: 'ALL=(ALL) ALL' })), 'write-sudoers')).toHaveLength(1);
    expect(actionsOf(run(iam({ devs: [] }), l, settings({ sudoersGroups: ['admins', 'ops'] })), 'write-sudoers')).toHaveLength(1);
  });
});

describe('action order', () => {
  test('create-group, write-sudoers, create-user, add-member, remove-member, remove-user', () => {
    const s = settings({ localGroups: ['wheel'], groupMap: { ops: ['adm'] } });
    const l = local({
      users: { alice: 200_100, bob: 200_200, carol: 200_300 },
      groups: { wheel: { base: true }, adm: { members: ['alice'] } },
      registry: { alice: {}, bob: {}, carol: {} },
    });
    const p = run(iam({ devs: ['alice', 'bob', 'dave'], admins: ['bob', 'dave'], ops: [] }), l, s);
    expect(lines(p)).toEqual([
      `create-group ${MARKER}`,
      `create-group ${SUDO}`,
      'write-sudoers',
      `create-user dave uid=hash [${MARKER},${SUDO}]`,
      `add-member alice ${MARKER} usermod`,
      'add-member alice wheel userdb',
      `add-member bob ${MARKER} usermod`,
      'add-member bob wheel userdb',
      `add-member bob ${SUDO} usermod`,
      'add-member dave wheel userdb',
      'remove-member alice adm usermod',
      'remove-user carol keepHome=true',
    ]);
  });
});
