/**
 * What `publish` reads from IAM: the same group reads as sync (sync/iam-snapshot.ts, with its
 * completeness checks), then each authorized user's Active keys, with key bodies already in the
 * last verified snapshot reused. Any failed read makes the whole read incomplete: a snapshot
 * lacking a group or a user's keys is never published.
 */
import type { Config } from '../config/config';
import type { IamDirectory } from '../aws/iam';
import type { Logger } from '../util/log';
import { errText } from '../util/log';
import { readIamSnapshot } from '../sync/iam-snapshot';
import { readActiveKeys } from '../keys/active-keys';
import { forEachLimited } from '../util/pool';
import type { CachedKey } from '../keys/cache-entry';
import type { SnapshotScope, SnapshotUser } from '../snapshot/format';

/** Parallel key reads: gentle with IAM's per-account request rate. */
const CONCURRENCY = 4;

export type AccessRead =
  | { complete: true; users: SnapshotUser[]; groups: string[] }
  | { complete: false; errors: Record<string, string> };

/** The groups a publisher reads: every group any instance setting of this scope needs. */
export function scopeGroups(config: Config): string[] {
  const groups = new Set<string>(config.authorizedGroups);
  if (Array.isArray(config.sudoersGroups)) config.sudoersGroups.forEach((g) => groups.add(g));
  Object.keys(config.groupMap).forEach((g) => groups.add(g));
  if (Array.isArray(config.notifyGroups)) config.notifyGroups.forEach((g) => groups.add(g));
  return [...groups].sort();
}

export async function readAccess(
  iam: IamDirectory, config: Config, known: ReadonlyMap<string, readonly CachedKey[]>, log: Logger,
): Promise<AccessRead> {
  const { snapshot, errors } = await readIamSnapshot(iam, config);
  if (snapshot.failed.length) return { complete: false, errors };
  const users: SnapshotUser[] = [];
  const keyErrors: Record<string, string> = {};
  const refs = [...snapshot.users].sort((a, b) => (a.userName < b.userName ? -1 : a.userName > b.userName ? 1 : 0));
  const byName = new Map<string, SnapshotUser>();
  await forEachLimited(refs, CONCURRENCY, async (ref) => {
    try {
      const { keys, dropped } = await readActiveKeys(iam, ref.userName, known.get(ref.userId) ?? []);
      for (const d of dropped) log.log('warn', 'publish.key_dropped', { iamUser: ref.userName, keyId: d.keyId, reason: d.reason });
      const groups = Object.keys(snapshot.groupMembers).filter((g) => snapshot.groupMembers[g]!.includes(ref.userName)).sort();
      byName.set(ref.userName, { name: ref.userName, id: ref.userId, groups, keys: keys.map((k) => ({ id: k.id, key: k.line })) });
    } catch (e) {
      keyErrors[`keys of ${ref.userName}`] = errText(e);
    }
  });
  if (Object.keys(keyErrors).length) return { complete: false, errors: keyErrors };
  for (const ref of refs) users.push(byName.get(ref.userName)!);
  if (new Set(users.map((u) => u.id)).size !== users.length) return { complete: false, errors: { ListUsers: 'two IAM users with the same user id' } };
  return { complete: true, users, groups: Object.keys(snapshot.groupMembers).sort() };
}

export function makeScope(config: Config, groups: string[], account: string | null): SnapshotScope {
  return {
    groups: [...new Set(groups)].sort(),
    allUsers: config.authorizedGroups.length === 0,
    authorizedGroups: [...new Set(config.authorizedGroups)].sort(),
    account,
    role: config.assumeRole,
  };
}
