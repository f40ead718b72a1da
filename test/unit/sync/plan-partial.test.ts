/**
 * Planner: a failed IAM read withholds only what depends on it. The authorized groups decide
 * who may log in; the sudoers groups decide the sudo group; each GROUP_MAP group its local
 * groups; any other group (NOTIFY_GROUPS) decides nothing here.
 */
import type { IamSnapshot, PlanSettings } from '../../../src/sync/plan';
import { settings, iam, host, run, lines, codes, noticesOf, MARKER, SUDO } from '../../helpers/plan-fixtures';

const s = settings({ authorizedGroups: ['devs', 'contractors'], groupMap: { ops: ['adm'], sre: ['adm', 'docker'] } });
const managed = { alice: 200_100, bob: 200_200, carol: 200_300 };
const l = host(s, managed, ['alice', 'bob'], { groups: { adm: { members: ['alice'] }, docker: { members: ['bob'] } } });
/** What IAM says: carol left devs, alice left admins and ops, bob is in sre, dave is new. */
const TRUTH: Record<string, string[]> = { devs: ['alice', 'bob', 'dave'], contractors: [], admins: ['bob'], ops: [], sre: ['bob'] };

/** The snapshot sync reads when `failed` could not be read: those groups list nobody. */
function partial(failed: string[], truth = TRUTH, authorized = ['devs', 'contractors']): IamSnapshot {
  const read = Object.fromEntries(Object.entries(truth).filter(([g]) => !failed.includes(g)));
  return iam(read, { failed, authorized });
}

const COMPLETE = [
  `create-user dave uid=hash [${MARKER}]`,
  'add-member bob adm usermod',
  `remove-member alice ${SUDO} usermod`,
  'remove-member alice adm usermod',
  'remove-user carol keepHome=true',
];

test('the complete read, for reference', () => {
  const p = run(partial([]), l, s);
  expect(lines(p)).toEqual(COMPLETE);
  expect(p).toMatchObject({ complete: true, accessComplete: true, removalsWithheld: false });
});

describe('a failed group that grants nothing here (a NOTIFY_GROUPS group)', () => {
  test.each([false, true])('changes no action (force %s); the run is incomplete', (force) => {
    const p = run(partial(['oncall']), l, s, force);
    expect(lines(p)).toEqual(COMPLETE);
    expect(p).toMatchObject({ complete: false, accessComplete: true, removalsWithheld: false });
    expect(codes(p)).toEqual(['iam_read_failed']);
    expect(noticesOf(p, 'iam_read_failed')[0]).toMatchObject({ level: 'error', message: expect.stringMatching(/oncall.*grants no access here/) });
  });
});

describe('a failed sudoers group', () => {
  const p = run(partial(['admins']), l, s);

  test('withholds revoking the sudo group, nothing else', () => {
    expect(lines(p)).toEqual(COMPLETE.filter((x) => x !== `remove-member alice ${SUDO} usermod`));
    expect(p).toMatchObject({ complete: false, accessComplete: true, removalsWithheld: true });
  });

  test('says what it withholds, once, naming the group and the user', () => {
    expect(codes(p)).toEqual(['iam_read_failed', 'revocation_deferred']);
    expect(noticesOf(p, 'iam_read_failed')[0]!.message).toMatch(new RegExp(`admins.*membership of ${SUDO} is not revoked`));
    expect(noticesOf(p, 'revocation_deferred')[0]).toMatchObject({ level: 'warn', message: expect.stringContaining(`alice (${SUDO})`) });
  });

  test('a sudo grant from another, readable, sudoers group still happens', () => {
    const two = settings({ ...s, sudoersGroups: ['admins', 'ops'] });
    const q = run(partial(['admins'], { ...TRUTH, ops: ['dave'] }), host(two, managed, ['alice', 'bob'], { groups: { adm: { members: ['alice'] }, docker: { members: ['bob'] } } }), two);
    expect(lines(q)).toContain(`create-user dave uid=hash [${MARKER},${SUDO},adm]`);
    expect(lines(q).filter((x) => x.startsWith(`remove-member alice ${SUDO}`))).toEqual([]);
  });

  test('SUDOERS_GROUPS=##ALL##: only the authorized groups decide sudo', () => {
    const all = settings({ ...s, sudoersGroups: 'all' });
    const q = run(partial(['admins']), host(all, managed, ['alice', 'bob', 'carol', 'dave']), all);
    expect(q.accessComplete).toBe(true);
    expect(lines(q)).toContain('remove-user carol keepHome=true');
  });
});

describe('a failed GROUP_MAP group', () => {
  test('withholds revoking its local groups; other revocations and grants go on', () => {
    const p = run(partial(['ops']), l, s);
    expect(lines(p)).toEqual(COMPLETE.filter((x) => x !== 'remove-member alice adm usermod'));
    expect(p).toMatchObject({ accessComplete: true, removalsWithheld: true });
    expect(noticesOf(p, 'iam_read_failed')[0]!.message).toMatch(/ops.*memberships of adm are not revoked/);
  });

  test('a local group reached through two IAM groups is withheld when either failed', () => {
    const p = run(partial(['sre']), l, s);
    // sre lists nobody now: bob is not given adm, and keeps docker; alice keeps adm
    expect(lines(p)).toEqual([`create-user dave uid=hash [${MARKER}]`, `remove-member alice ${SUDO} usermod`, 'remove-user carol keepHome=true']);
    expect(noticesOf(p, 'iam_read_failed')[0]!.message).toMatch(/sre.*memberships of adm, docker are not revoked/);
    expect(noticesOf(p, 'revocation_deferred')[0]!.message).toMatch(/alice \(adm\), bob \(docker\)/);
  });

  test('a GROUP_MAP group that maps to the sudo group withholds revoking sudo', () => {
    const m = settings({ ...s, groupMap: { ops: [SUDO] } });
    const p = run(partial(['ops']), host(m, managed, ['alice', 'bob']), m);
    expect(lines(p).filter((x) => x.startsWith('remove-member'))).toEqual([]);
    expect(p.removalsWithheld).toBe(true);
  });
});

describe('a failed authorized group (or ListUsers)', () => {
  test.each([false, true])('removes no account, even with force %s; memberships decided by groups that were read are revoked', (force) => {
    const p = run(partial(['contractors']), l, s, force);
    expect(lines(p)).toEqual(COMPLETE.filter((x) => !x.startsWith('remove-user')));
    expect(p).toMatchObject({ complete: false, accessComplete: false, removalsWithheld: true });
    expect(codes(p)).toEqual(['iam_read_failed', 'removal_deferred']);
    expect(noticesOf(p, 'iam_read_failed')[0]!.message).toMatch(/contractors.*no account is removed/);
    expect(noticesOf(p, 'removal_deferred')[0]!.message).toContain('carol');
  });

  test('a group that is both authorized and sudoers withholds both', () => {
    const both = settings({ ...s, sudoersGroups: ['contractors'] });
    const p = run(partial(['contractors']), host(both, managed, ['alice', 'bob'], { groups: { adm: {}, docker: {} } }), both);
    expect(lines(p).filter((x) => x.startsWith('remove-'))).toEqual([]);
    expect(codes(p)).toEqual(['iam_read_failed', 'revocation_deferred', 'removal_deferred']);
    expect(noticesOf(p, 'iam_read_failed')[0]!.message).toMatch(new RegExp(`no account is removed.*membership of ${SUDO} is not revoked`));
  });

  describe('no authorized group configured: ListUsers decides who may log in', () => {
    const open: PlanSettings = settings({ ...s, authorizedGroups: [] });
    const everyone = (failed: string[]) => iam(failed.includes('admins') ? { ops: [], sre: ['bob'] } : { admins: ['bob'], ops: [], sre: ['bob'] }, { failed, extra: failed.includes('ListUsers') ? [] : ['alice', 'bob', 'dave'], authorized: [] });

    test('ListUsers failed: no account removed', () => {
      const p = run(everyone(['ListUsers']), host(open, managed, ['alice', 'bob']), open, true);
      expect(p.accessComplete).toBe(false);
      expect(lines(p).filter((x) => x.startsWith('remove-user'))).toEqual([]);
    });

    test('a sudoers group failed: carol is still removed', () => {
      const p = run(everyone(['admins']), host(open, managed, ['alice', 'bob']), open);
      expect(p.accessComplete).toBe(true);
      expect(lines(p)).toContain('remove-user carol keepHome=true');
      expect(lines(p).filter((x) => x.startsWith('remove-member'))).toEqual([]);
    });
  });
});

test('with several failed reads, one iam_read_failed notice each, in the order given', () => {
  const p = run(partial(['admins', 'oncall', 'ops']), l, s);
  expect(noticesOf(p, 'iam_read_failed').map((n) => n.message.split(' ')[3])).toEqual(['admins', 'oncall', 'ops']);
  expect(lines(p)).toEqual([`create-user dave uid=hash [${MARKER}]`, 'add-member bob adm usermod', 'remove-user carol keepHome=true']);
});

test('MAX_REMOVALS still guards a run whose access read was complete', () => {
  const p = run(partial(['admins']), l, settings({ ...s, maxRemovals: 0 }));
  expect(codes(p)).toContain('removal_refused');
  expect(lines(p).filter((x) => x.startsWith('remove-user'))).toEqual([]);
});
