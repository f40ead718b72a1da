/**
 * A verified access snapshot seen through the IamDirectory interface, so that sync reads its
 * groups (sync/iam-snapshot.ts), plans, applies and writes keys exactly as from IAM. A group
 * the publisher did not read is an incomplete answer, as a failed IAM read would be: the
 * planner then withholds what depends on it. No call leaves the host. Pure.
 */
import { IncompleteAnswerError, type IamDirectory, type IamKeyBody, type IamUserRef } from '../aws/iam';
import type { AccessSnapshot } from './format';

export function snapshotDirectory(snapshot: AccessSnapshot): IamDirectory {
  const byName = new Map(snapshot.users.map((u) => [u.name, u]));
  const ref = (u: { name: string; id: string }): IamUserRef => ({ userName: u.name, userId: u.id });
  const user = (name: string) => {
    const u = byName.get(name);
    if (!u) throw new IncompleteAnswerError(`the snapshot has no user ${name}`);
    return u;
  };
  return {
    calls: {},
    listGroupMembers: async (group) => {
      if (!snapshot.scope.groups.includes(group)) throw new IncompleteAnswerError(`the snapshot's publisher did not read group ${group}`);
      return snapshot.users.filter((u) => u.groups.includes(group)).map(ref);
    },
    listUsers: async () => {
      if (!snapshot.scope.allUsers) throw new IncompleteAnswerError('the snapshot does not hold every IAM user');
      return snapshot.users.map(ref);
    },
    listActiveKeyIds: async (name) => user(name).keys.map((k) => k.id),
    getKey: async (name, keyId): Promise<IamKeyBody> => {
      const k = user(name).keys.find((x) => x.id === keyId);
      if (!k) throw new IncompleteAnswerError(`the snapshot has no key ${keyId} of ${name}`);
      return { id: k.id, status: 'Active', body: k.key };
    },
  };
}
