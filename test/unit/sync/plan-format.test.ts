/** `sync --dry-run` output: what it says about failed reads and managed accounts outside the UID range. */
import { formatPlan, planJson } from '../../../src/sync/plan-format';
import { settings, iam, host, run } from '../../helpers/plan-fixtures';

const s = settings({ authorizedGroups: ['devs', 'contractors'] });
const l = host(s, { alice: 200_100, carol: 200_300 }, ['alice']);

test('a complete plan: no footer about reads', () => {
  const out = formatPlan(run(iam({ devs: ['alice'], admins: ['alice'] }), l, s));
  expect(out).toMatch(/remove-user\s+carol/);
  expect(out).not.toMatch(/incomplete|failed|UID_MIN/);
});

test('a failed authorized group: says that no account is removed and the record is kept', () => {
  const out = formatPlan(run(iam({ devs: ['alice'], admins: ['alice'] }, { failed: ['contractors'], authorized: ['devs'] }), l, s));
  expect(out).not.toMatch(/remove-user/);
  expect(out).toMatch(/IAM read of the authorized groups incomplete: no account is removed and the recorded member list is kept; the run exits non-zero\./);
});

test('a failed group that decides no access: says that only what depends on it is withheld', () => {
  const out = formatPlan(run(iam({ devs: ['alice'], admins: ['alice'] }, { failed: ['oncall'] }), l, s));
  expect(out).toMatch(/remove-user\s+carol/);
  expect(out).toMatch(/Some IAM reads failed: only what depends on them is withheld \(see the notices\); the run exits non-zero\./);
  expect(out).not.toMatch(/no account is removed/);
});

test('managed accounts outside UID_MIN..UID_MAX are named', () => {
  const raised = settings({ ...s, uidMin: 250_000 });
  const out = formatPlan(run(iam({ devs: ['alice', 'carol'], admins: ['alice'] }), host(raised, { alice: 200_100, carol: 200_300 }, ['alice'], { registry: { alice: {}, carol: {} } }), raised));
  expect(out).toMatch(/Managed accounts outside UID_MIN\.\.UID_MAX: alice, carol; the run exits non-zero\./);
});

test('--json carries the per-purpose fields', () => {
  const json = JSON.parse(planJson(run(iam({ devs: ['alice'] }, { failed: ['contractors'], authorized: ['devs'] }), l, s)));
  expect(json).toMatchObject({ complete: false, accessComplete: false, removalsWithheld: true, stranded: [] });
  expect(Object.keys(json)).toEqual(['complete', 'accessComplete', 'removalsWithheld', 'stranded', 'actions', 'notices', 'desired']);
});
