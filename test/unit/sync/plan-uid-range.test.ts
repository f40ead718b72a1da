/**
 * Planner: accounts iam-ssh created stay managed whatever UID_MIN and UID_MAX become. A setting
 * that leaves them outside the range is an error of the run: access is still revoked, never
 * widened, and the accounts are named.
 */
import {
  settings, iam, idOf, host, local, run, actionsOf, lines, codes, noticesOf, createUser, MARKER, SUDO, UID_MAX,
} from '../../helpers/plan-fixtures';
import { hashUid } from '../../../src/sync/uid';

/** alice and bob were created with hash UIDs above 200000; UID_MIN is then raised above alice's. */
const raised = settings({ uidMin: 250_000, groupMap: { ops: ['adm'] } });
const created = { alice: 200_100, bob: 260_000 };
const registry = { alice: {}, bob: {} };

describe('UID_MIN raised above accounts iam-ssh created', () => {
  test('one who left IAM is still removed; no protected_account, no error left behind', () => {
    const l = host(raised, created, [], { registry, groups: { adm: {} } });
    const p = run(iam({ devs: ['bob'] }), l, raised);
    expect(lines(p)).toEqual(['remove-user alice keepHome=true']);
    expect(codes(p)).toEqual([]);
    expect(p.stranded).toEqual([]);
  });

  test('one still authorized: revocations go on, nothing widens, an error names the account and UID_MIN', () => {
    // alice left admins (sudo) and joined ops (adm); her marker membership was lost
    const l = host(raised, created, ['alice', 'bob'], { registry, groups: { [MARKER]: { gid: 150, members: ['bob'] }, adm: {} } });
    const p = run(iam({ devs: ['alice', 'bob'], admins: ['bob'], ops: ['alice', 'bob'] }), l, raised);
    expect(lines(p)).toEqual(['add-member bob adm usermod', `remove-member alice ${SUDO} usermod`]);
    expect(p.stranded).toEqual(['alice']);
    expect(noticesOf(p, 'uid_out_of_range')).toEqual([expect.objectContaining({
      level: 'error', user: 'alice', iamName: 'alice', message: expect.stringMatching(/alice \(uid 200100\).*below UID_MIN=250000/),
    })]);
    expect(codes(p)).not.toContain('protected_account');
    // she keeps the access she had: still recorded for keys
    expect(p.desired.map((d) => d.localName)).toEqual(['alice', 'bob']);
  });

  test('one whose removal MAX_REMOVALS refuses stays stranded', () => {
    const s = settings({ ...raised, maxRemovals: 0 });
    const p = run(iam({ devs: ['bob'] }), host(s, created, [], { registry, groups: { adm: {} } }), s);
    expect(codes(p)).toEqual(['removal_refused', 'uid_out_of_range']);
    expect(p.stranded).toEqual(['alice']);
  });
});

test('UID_MAX lowered below an account iam-ssh created: the same, naming UID_MAX', () => {
  const s = settings({ uidMax: 250_000 });
  const p = run(iam({ devs: ['alice', 'bob'], admins: ['alice', 'bob'] }), host(s, created, [], { registry }), s);
  expect(lines(p)).toEqual([`add-member alice ${SUDO} usermod`]);
  expect(p.stranded).toEqual(['bob']);
  expect(noticesOf(p, 'uid_out_of_range')[0]!.message).toMatch(/bob \(uid 260000\).*above UID_MAX=250000/);
  const gone = run(iam({ devs: ['alice'] }), host(s, created, [], { registry }), s);
  expect(lines(gone)).toEqual(['remove-user bob keepHome=true']);
});

describe('what the registry must say for an account to stay managed below UID_MIN', () => {
  test('no registry entry, marker group only: an account aws-ec2-ssh made, adopted with its UID', () => {
    const l = host(raised, {}, ['alice'], { users: { alice: 200_100 }, groups: { [MARKER]: { gid: 150, members: ['alice'] }, adm: {} } });
    expect(run(iam({ devs: [] }), l, raised, true).actions).toEqual([]);
    const p = run(iam({ devs: ['alice'], admins: [] }), l, raised);
    expect(lines(p)).toEqual(['adopt-user alice uid=200100', `remove-member alice ${SUDO} usermod`]);
    expect(p.stranded).toEqual([]);
  });

  test.each([
    ['a registry entry without a UID', { alice: { uid: null } }],
    ['a registry entry with another UID', { alice: { uid: 200_101 } }],
  ])('%s: protected, as before', (_w, reg) => {
    const l = host(raised, { alice: 200_100 }, ['alice'], { registry: reg, groups: { adm: {} } });
    expect(run(iam({ devs: [] }), l, raised, true).actions).toEqual([]);
    const p = run(iam({ devs: ['alice'], admins: [] }), l, raised);
    expect(p.actions).toEqual([]);
    expect(codes(p)).toContain('protected_account');
    expect(p.stranded).toEqual([]);
  });

  test('uid 0 is never managed, whatever the registry says', () => {
    const l = host(raised, {}, [], { users: { toor: 0 }, registry: { toor: { uid: 0 } }, groups: { [MARKER]: { gid: 150, members: ['toor'] } } });
    expect(run(iam({ devs: [] }), l, raised, true).actions).toEqual([]);
    expect(run(iam({ devs: ['toor'] }), l, raised).actions).toEqual([]);
  });

  test('a re-created IAM user (another UserId) is identity_changed, not given the account', () => {
    const l = host(raised, created, [], { registry: { alice: { iamUserId: 'AIDAOLD' }, bob: {} } });
    const p = run(iam({ devs: ['alice', 'bob'] }), l, raised);
    expect(codes(p)).toContain('identity_changed');
    expect(p.desired.map((d) => d.localName)).toEqual(['bob']);
    expect(p.actions).toEqual([]);
  });
});

test('a half-created account whose recorded UID is now out of range gets a UID inside it', () => {
  const l = local({ groups: { [MARKER]: { gid: 150 }, [SUDO]: { gid: 151 } }, registry: { alice: { uid: 200_100 } } });
  const p = run(iam({ devs: ['alice'] }), { ...l, sudoersContent: null }, raised);
  expect(createUser(p, 'alice').uid).toBe(hashUid(idOf('alice'), 0, 250_000, UID_MAX));
  expect(actionsOf(p, 'create-user')).toHaveLength(1);
});
