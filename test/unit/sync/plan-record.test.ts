/**
 * Planner: the recorded group (RECORD_GROUPS -> RECORD_LOCAL_GROUP) is kept like the sudo
 * group: created when recording is on, joined by members of the record groups (everyone with
 * ##ALL##), left when IAM says so, and never left on a failed read of a group that grants it:
 * leaving it would stop the recording.
 */
import { settings, iam, host, run, lines, codes, MARKER } from '../../helpers/plan-fixtures';

const REC = 'iam-ssh-recorded';
const s = settings({ sudoersGroups: null, recordGroups: ['breakglass'], recordLocalGroup: REC });
const withGroup = (members: string[]) => ({ groups: { [REC]: { gid: 152, members } } });

test('recording off (no RECORD_GROUPS): the group is neither made nor joined', () => {
  const p = run(iam({ devs: ['alice'] }), host(settings({ sudoersGroups: null })), settings({ sudoersGroups: null }));
  expect(lines(p).some((l) => l.includes(REC))).toBe(false);
});

test('recording on: the group is made, and a new member of a record group joins it at creation', () => {
  const p = run(iam({ devs: ['alice', 'bob'], breakglass: ['alice'] }), host(s), s);
  expect(lines(p)).toEqual([`create-group ${REC}`, `create-user alice uid=hash [${MARKER},${REC}]`, `create-user bob uid=hash [${MARKER}]`]);
});

test('##ALL##: every managed user is recorded', () => {
  const all = settings({ sudoersGroups: null, recordGroups: 'all', recordLocalGroup: REC });
  const p = run(iam({ devs: ['alice', 'bob'] }), host(all, { bob: 200_200 }, [], { ...withGroup([]), users: { bob: 200_200 } }), all);
  expect(lines(p)).toContain(`add-member bob ${REC} usermod`);
  expect(lines(p)).toContain(`create-user alice uid=hash [${MARKER},${REC}]`);
});

test('an existing account joins the group when it enters a record group, and leaves it when it leaves', () => {
  const l = host(s, { alice: 200_100, bob: 200_200 }, [], withGroup(['bob']));
  const p = run(iam({ devs: ['alice', 'bob'], breakglass: ['alice'] }), l, s);
  expect(lines(p)).toEqual([`add-member alice ${REC} usermod`, `remove-member bob ${REC} usermod`]);
});

test('a failed read of a record group keeps everyone recorded who is recorded now', () => {
  const l = host(s, { alice: 200_100, bob: 200_200 }, [], withGroup(['bob']));
  const p = run(iam({ devs: ['alice', 'bob'] }, { failed: ['breakglass'] }), l, s);
  expect(lines(p)).toEqual([]);
  expect(codes(p)).toEqual(['iam_read_failed', 'revocation_deferred']);
  expect(p.notices[0]!.message).toMatch(`membership of ${REC} is not revoked`);
});
