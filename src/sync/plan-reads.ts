/**
 * Which IAM read decides what, so that one failed read withholds only what depends on it. Pure.
 * - The authorized groups (ListUsers when none is configured) decide who may log in here: when
 *   one of them failed, no account is removed and the member list `keys` trusts is kept.
 * - The sudoers groups decide membership of the sudo group, each GROUP_MAP group that of its
 *   local groups: when one failed, those memberships are not revoked.
 * - Any other group (NOTIFY_GROUPS) grants nothing; only its recorded membership is missing.
 * Grants need no rule: a failed read lists nobody, so it grants nothing.
 */

/** The settings that say what each IAM group is read for. */
export interface ReadPurposes {
  authorizedGroups: readonly string[];
  sudoersGroups: readonly string[] | 'all' | null;
  sudoLocalGroup: string;
  groupMap: Readonly<Record<string, readonly string[]>>;
  recordGroups?: readonly string[] | 'all' | null;
  recordLocalGroup?: string;
}

export interface ReadCoverage {
  /** Every read that decides who may log in here succeeded. */
  accessComplete: boolean;
  /** Every IAM read that grants membership of this local group succeeded. */
  revocationKnown(localGroup: string): boolean;
  /** Per failed read, in the order given, what this run withholds because of it. */
  failures: { group: string; withheld: string }[];
}

/** The pseudo-group name under which a failed ListUsers is recorded. */
export const LIST_USERS = 'ListUsers';

export function readCoverage(failed: readonly string[], s: ReadPurposes): ReadCoverage {
  const failedSet = new Set(failed);
  const accessReads = s.authorizedGroups.length > 0 ? s.authorizedGroups : [LIST_USERS];
  const sudoReads = s.sudoersGroups === null ? [] : s.sudoersGroups === 'all' ? accessReads : s.sudoersGroups;
  const recordReads = s.recordGroups == null ? [] : s.recordGroups === 'all' ? accessReads : s.recordGroups;
  /** The IAM reads that grant membership of a local group. */
  const grantsOf = (localGroup: string): readonly string[] => [
    ...(s.sudoersGroups !== null && localGroup === s.sudoLocalGroup ? sudoReads : []),
    ...(s.recordGroups != null && localGroup === s.recordLocalGroup ? recordReads : []),
    ...Object.keys(s.groupMap).filter((g) => Object.hasOwn(s.groupMap, g) && s.groupMap[g]!.includes(localGroup)),
  ];

  const failures = failed.map((group) => {
    const withheld: string[] = [];
    if (accessReads.includes(group)) withheld.push('no account is removed and the recorded member list is kept');
    if (s.sudoersGroups !== null && s.sudoersGroups !== 'all' && s.sudoersGroups.includes(group)) withheld.push(`membership of ${s.sudoLocalGroup} is not revoked`);
    if (Array.isArray(s.recordGroups) && s.recordGroups.includes(group)) withheld.push(`membership of ${s.recordLocalGroup} is not revoked`);
    const mapped = Object.hasOwn(s.groupMap, group) ? s.groupMap[group]! : [];
    if (mapped.length > 0) withheld.push(`memberships of ${[...new Set(mapped)].join(', ')} are not revoked`);
    return { group, withheld: withheld.length > 0 ? withheld.join('; ') : 'it grants no access here; only its membership is not recorded' };
  });

  return {
    accessComplete: accessReads.every((g) => !failedSet.has(g)),
    revocationKnown: (localGroup) => grantsOf(localGroup).every((g) => !failedSet.has(g)),
    failures,
  };
}
