/**
 * Reads everything sync needs from IAM in O(groups + pages) calls: the members of every
 * authorized, sudo, mapped and notify group (or ListUsers when no group is configured). A
 * failed read, or an answer lacking what a complete one has, is recorded, never turned into an
 * empty list: the planner then withholds what depends on it (plan-reads.ts).
 */
import type { IamDirectory, IamUserRef } from '../aws/iam';
import type { IamSnapshot } from './plan';
import { LIST_USERS } from './plan-reads';
import type { Config } from '../config/config';
import { forEachLimited } from '../util/pool';

/** How many GetGroup reads run at once: fast, yet gentle with IAM's per-account rate. */
const CONCURRENCY = 4;

export async function readIamSnapshot(iam: IamDirectory, config: Config, signal?: AbortSignal): Promise<{ snapshot: IamSnapshot; errors: Record<string, string> }> {
  const groups = new Set<string>(config.authorizedGroups);
  if (Array.isArray(config.sudoersGroups)) config.sudoersGroups.forEach((g) => groups.add(g));
  Object.keys(config.groupMap).forEach((g) => groups.add(g));
  if (Array.isArray(config.recordGroups)) config.recordGroups.forEach((g) => groups.add(g));
  // Recorded per user in the state, for notify-login.
  if (Array.isArray(config.notifyGroups)) config.notifyGroups.forEach((g) => groups.add(g));

  const groupMembers: Record<string, string[]> = {};
  const refs = new Map<string, IamUserRef>();
  const errors: Record<string, string> = {};
  const all = config.authorizedGroups.length === 0;
  await Promise.all([
    forEachLimited([...groups], CONCURRENCY, async (g) => {
      try {
        const users = await iam.listGroupMembers(g, signal);
        groupMembers[g] = users.map((u) => u.userName);
        if (config.authorizedGroups.includes(g)) users.forEach((u) => refs.set(u.userName, u));
      } catch (e) {
        errors[g] = describe(e);
      }
    }),
    all
      ? iam.listUsers(signal).then(
          (users) => users.forEach((u) => refs.set(u.userName, u)),
          (e) => void (errors[LIST_USERS] = describe(e)),
        )
      : Promise.resolve(),
  ]);
  return { snapshot: { users: [...refs.values()], groupMembers, failed: Object.keys(errors).sort() }, errors };
}

function describe(e: unknown): string {
  const err = e as { name?: string; message?: string };
  return `${err.name ?? 'Error'}: ${err.message ?? String(e)}`;
}
