/**
 * Whether an instance may use a verified manifest: not older than the last serial accepted
 * (rollback, replay), the same body when the serial is the same, young enough, published with
 * this instance's ASSUMEROLE, and covering the groups whose members this instance authorizes.
 * Pure: the reason for a refusal is returned, never thrown.
 */
import type { SnapshotManifest, SnapshotScope } from './format';

/** A generation time this far in the future is a clock problem, not a snapshot. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface AcceptSettings {
  authorizedGroups: readonly string[];
  assumeRole: string | null;
  maxAgeMs: number;
}

export interface Accepted {
  serial: number;
  sha256: string;
}

/** null when acceptable, else why not. */
export function refuseManifest(m: SnapshotManifest, last: Accepted | null, now: number, s: AcceptSettings): string | null {
  if (last && m.serial < last.serial) return `serial ${m.serial} is older than ${last.serial}, the last one accepted (rollback or replay)`;
  if (last && m.serial === last.serial && m.sha256 !== last.sha256) return `serial ${m.serial} was accepted before with another body`;
  return refuseAge(m.generatedAt, now, s.maxAgeMs) ?? refuseScope(m.scope, s);
}

export function refuseAge(generatedAt: string, now: number, maxAgeMs: number): string | null {
  const age = now - Date.parse(generatedAt);
  if (age > maxAgeMs) return `the snapshot was generated ${Math.round(age / 1000)} s ago, more than SNAPSHOT_MAX_AGE (${Math.round(maxAgeMs / 1000)} s): is the publisher running?`;
  if (age < -MAX_CLOCK_SKEW_MS) return `the snapshot was generated ${Math.round(-age / 1000)} s in the future: check this host's clock`;
  return null;
}

/**
 * The instance's authorized users must all be in the snapshot: with IAM_AUTHORIZED_GROUPS empty
 * it must hold every IAM user; else each group must be one the publisher authorized (all its
 * members are in the snapshot), or any group it read when it holds every IAM user.
 */
export function refuseScope(scope: SnapshotScope, s: AcceptSettings): string | null {
  if ((scope.role ?? null) !== (s.assumeRole ?? null)) return `the snapshot was read through role ${scope.role ?? 'none'}, this host's ASSUMEROLE is ${s.assumeRole ?? 'none'}`;
  if (s.authorizedGroups.length === 0) return scope.allUsers ? null : 'IAM_AUTHORIZED_GROUPS is empty (every IAM user) but the snapshot holds only some groups';
  const missing = s.authorizedGroups.filter((g) => !(scope.allUsers ? scope.groups.includes(g) : scope.authorizedGroups.includes(g)));
  return missing.length ? `the snapshot does not hold every member of ${missing.join(', ')} (IAM_AUTHORIZED_GROUPS)` : null;
}
