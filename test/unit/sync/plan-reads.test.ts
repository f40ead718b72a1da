/** Which IAM read decides what: the table plan.ts withholds removals by. */
import { readCoverage, LIST_USERS, type ReadPurposes } from '../../../src/sync/plan-reads';

const purposes: ReadPurposes = {
  authorizedGroups: ['devs', 'admins'],
  sudoersGroups: ['admins', 'ops'],
  sudoLocalGroup: 'iam-ssh-sudo',
  groupMap: { ops: ['adm', 'docker'], sre: ['adm'] },
};

test('nothing failed: everything is known', () => {
  const c = readCoverage([], purposes);
  expect(c.accessComplete).toBe(true);
  for (const g of ['iam-ssh-sudo', 'adm', 'docker', 'video']) expect(c.revocationKnown(g)).toBe(true);
  expect(c.failures).toEqual([]);
});

test.each<[string, boolean, string[]]>([
  ['devs', false, []],
  ['admins', false, ['iam-ssh-sudo']],
  ['ops', true, ['iam-ssh-sudo', 'adm', 'docker']],
  ['sre', true, ['adm']],
  ['notify', true, []],
])('%s failed: access known %s, revocation unknown for %j', (group, access, unknown) => {
  const c = readCoverage([group], purposes);
  expect(c.accessComplete).toBe(access);
  expect(['iam-ssh-sudo', 'adm', 'docker', 'video'].filter((g) => !c.revocationKnown(g))).toEqual(unknown);
});

test('each failure says what it withholds, in the order given', () => {
  expect(readCoverage(['notify', 'admins', 'ops'], purposes).failures).toEqual([
    { group: 'notify', withheld: 'it grants no access here; only its membership is not recorded' },
    { group: 'admins', withheld: 'no account is removed and the recorded member list is kept; membership of iam-ssh-sudo is not revoked' },
    { group: 'ops', withheld: 'membership of iam-ssh-sudo is not revoked; memberships of adm, docker are not revoked' },
  ]);
});

test('no authorized group: ListUsers decides access, and sudo with ##ALL##', () => {
  const open: ReadPurposes = { ...purposes, authorizedGroups: [], sudoersGroups: 'all' };
  const c = readCoverage([LIST_USERS], open);
  expect(c.accessComplete).toBe(false);
  expect(c.revocationKnown('iam-ssh-sudo')).toBe(false);
  expect(readCoverage(['admins'], open).accessComplete).toBe(true);
});

test('sudo unmanaged: the sudo group name is just a local group', () => {
  const c = readCoverage(['admins'], { ...purposes, sudoersGroups: null });
  expect(c.revocationKnown('iam-ssh-sudo')).toBe(true);
  expect(c.failures[0]!.withheld).toBe('no account is removed and the recorded member list is kept');
});

test.each(['constructor', 'toString', '__proto__'])('an IAM group named %j is nothing special', (name) => {
  const c = readCoverage([name], { ...purposes, groupMap: { [name]: ['adm'] } });
  expect(c.revocationKnown('adm')).toBe(false);
  expect(readCoverage([name], purposes).revocationKnown('adm')).toBe(true);
  expect(readCoverage([name], purposes).failures[0]!.withheld).toMatch(/grants no access/);
});
