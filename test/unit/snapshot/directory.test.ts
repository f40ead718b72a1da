/** The snapshot as sync's IamDirectory: what the publisher did not read is an incomplete answer, never an empty one. */
import { snapshotDirectory } from '../../../src/snapshot/directory';
import { readIamSnapshot } from '../../../src/sync/iam-snapshot';
import { defaults } from '../../../src/config/config';
import { snapshot, KEYS } from './fixtures';

describe('snapshotDirectory', () => {
  const dir = snapshotDirectory(snapshot());
  test('group members, key ids and bodies as IAM would answer, with no call counted', async () => {
    expect(await dir.listGroupMembers('ssh-admins')).toEqual([{ userName: 'alice', userId: 'AIDAALICE0000000000' }]);
    expect((await dir.listGroupMembers('ssh-users')).map((u) => u.userName)).toEqual(['alice', 'bob']);
    expect(await dir.listActiveKeyIds('bob')).toEqual(['APKABOB000000000001']);
    expect(await dir.getKey('bob', 'APKABOB000000000001')).toEqual({ id: 'APKABOB000000000001', status: 'Active', body: KEYS[1] });
    expect(dir.calls).toEqual({});
  });
  test('a group the publisher did not read, every IAM user, an unknown user or key: errors', async () => {
    await expect(dir.listGroupMembers('other')).rejects.toThrow(/did not read group other/);
    await expect(dir.listUsers()).rejects.toThrow(/every IAM user/);
    await expect(dir.listActiveKeyIds('mallory')).rejects.toThrow(/no user mallory/);
    await expect(dir.getKey('bob', 'APKAX')).rejects.toThrow(/no key/);
  });
  test("through sync's reader, an unread sudo group is a failed read (the planner's guards apply)", async () => {
    const config = { ...defaults(), authorizedGroups: ['ssh-users'], sudoersGroups: ['ops'] };
    const { snapshot: read, errors } = await readIamSnapshot(dir, config);
    expect(read.failed).toEqual(['ops']);
    expect(errors.ops).toMatch(/did not read group ops/);
    expect(read.users.map((u) => u.userName)).toEqual(['alice', 'bob']);
  });
});
