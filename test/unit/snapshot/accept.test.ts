/** Whether an instance uses a verified manifest: serial floor, age, role and the authorized groups. */
import { refuseManifest, refuseScope } from '../../../src/snapshot/accept';
import { keyPair, signed, snapshot } from './fixtures';

const m = signed(snapshot(100, '2026-01-01T00:00:00.000Z'), keyPair().privateKey).manifest;
const NOW = Date.parse('2026-01-01T00:10:00.000Z');
const settings = { authorizedGroups: ['ssh-users'], assumeRole: null, maxAgeMs: 3_600_000 };

describe('refuseManifest', () => {
  test('a first snapshot, a newer one, or the same one again is accepted', () => {
    expect(refuseManifest(m, null, NOW, settings)).toBeNull();
    expect(refuseManifest(m, { serial: 99, sha256: 'x' }, NOW, settings)).toBeNull();
    expect(refuseManifest(m, { serial: 100, sha256: m.sha256 }, NOW, settings)).toBeNull();
  });
  test('an older serial (rollback, replay) or the same serial with another body is refused', () => {
    expect(refuseManifest(m, { serial: 101, sha256: 'x' }, NOW, settings)).toMatch(/older than 101.*rollback or replay/);
    expect(refuseManifest(m, { serial: 100, sha256: 'b'.repeat(64) }, NOW, settings)).toMatch(/another body/);
  });
  test('older than SNAPSHOT_MAX_AGE, or far in the future', () => {
    expect(refuseManifest(m, null, NOW, { ...settings, maxAgeMs: 60_000 })).toMatch(/SNAPSHOT_MAX_AGE/);
    expect(refuseManifest(m, null, Date.parse('2025-12-31T23:00:00.000Z'), settings)).toMatch(/in the future/);
    expect(refuseManifest(m, null, Date.parse('2025-12-31T23:58:00.000Z'), settings)).toBeNull();
  });
});

describe('refuseScope', () => {
  const scope = m.scope;
  test('each authorized group of the instance must be one the publisher authorized', () => {
    expect(refuseScope(scope, settings)).toBeNull();
    // ssh-admins was read (sudo), but its members outside ssh-users are not in the snapshot.
    expect(refuseScope(scope, { ...settings, authorizedGroups: ['ssh-users', 'ssh-admins'] })).toMatch(/every member of ssh-admins/);
    expect(refuseScope(scope, { ...settings, authorizedGroups: [] })).toMatch(/every IAM user/);
  });
  test('a snapshot of every IAM user covers any group it read, and an empty IAM_AUTHORIZED_GROUPS', () => {
    const all = { ...scope, allUsers: true, authorizedGroups: [] };
    expect(refuseScope(all, { ...settings, authorizedGroups: [] })).toBeNull();
    expect(refuseScope(all, { ...settings, authorizedGroups: ['ssh-admins'] })).toBeNull();
    expect(refuseScope(all, { ...settings, authorizedGroups: ['other'] })).toMatch(/other/);
  });
  test("the publisher's role must be this host's ASSUMEROLE", () => {
    const role = 'arn:aws:iam::210987654321:role/iam-ssh-read';
    expect(refuseScope({ ...scope, role }, settings)).toMatch(/role/);
    expect(refuseScope(scope, { ...settings, assumeRole: role })).toMatch(/role/);
    expect(refuseScope({ ...scope, role }, { ...settings, assumeRole: role })).toBeNull();
  });
});
