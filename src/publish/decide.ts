/**
 * Whether a new read is published: the guards sync applies to removals (MAX_REMOVALS, never
 * everyone at once), and when nothing changed, whether the last manifest is young enough to
 * stand. Pure.
 */
import type { AccessSnapshot, SnapshotUser } from '../snapshot/format';
import { accessContent } from '../snapshot/format';

export interface PublishSettings {
  maxRemovals: number;
  force: boolean;
  /** SNAPSHOT_MAX_AGE: an unchanged snapshot is published again after half of it. */
  maxAgeMs: number;
}

export type PublishDecision =
  | { kind: 'publish'; reason: 'first' | 'changed' | 'refresh' | 'forced'; removed: string[] }
  | { kind: 'unchanged' }
  | { kind: 'refused'; reason: string; removed: string[] };

/** Users of the previous snapshot (by IAM user id) that the new read no longer has. */
export function removedUsers(previous: readonly SnapshotUser[], next: readonly SnapshotUser[]): string[] {
  const ids = new Set(next.map((u) => u.id));
  return previous.filter((u) => !ids.has(u.id)).map((u) => u.name).sort();
}

export function decidePublish(
  previous: AccessSnapshot | null, next: Pick<AccessSnapshot, 'scope' | 'users'>, now: number, s: PublishSettings,
): PublishDecision {
  if (!previous) return { kind: 'publish', reason: 'first', removed: [] };
  const removed = removedUsers(previous.users, next.users);
  if (!s.force) {
    if (next.users.length === 0 && previous.users.length > 0) {
      return { kind: 'refused', reason: `the read has no authorized user where the last snapshot had ${previous.users.length}; publish --force if that is right`, removed };
    }
    if (removed.length > s.maxRemovals) {
      return { kind: 'refused', reason: `${removed.length} users would be removed, more than MAX_REMOVALS (${s.maxRemovals}); publish --force if that is right`, removed };
    }
  }
  if (accessContent(previous) !== accessContent(next)) return { kind: 'publish', reason: s.force ? 'forced' : 'changed', removed };
  const age = now - Date.parse(previous.generatedAt);
  // A clock stepped back (negative age) is no reason to wait: publish again.
  if (age >= 0 && age < s.maxAgeMs / 2) return s.force ? { kind: 'publish', reason: 'forced', removed } : { kind: 'unchanged' };
  return { kind: 'publish', reason: 'refresh', removed };
}
