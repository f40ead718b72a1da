/**
 * The sync planner: a pure function from (IAM snapshot, local snapshot, settings) to the
 * list of changes that make this host match IAM. Applying is someone else's job.
 *
 * Safety rules live here, where they are unit-tested exhaustively:
 * - a failed IAM read withholds only what depends on it (plan-reads.ts): no account is removed
 *   unless every authorized group was read, no membership revoked unless every IAM group that
 *   grants it was read;
 * - only managed accounts are changed or removed: the accounts iam-ssh created or adopted
 *   (registry, same UID) whatever UID_MIN becomes, and marked accounts at or above UID_MIN;
 * - aws-ec2-ssh's accounts are adopted in place, with their names and UIDs (legacy-accounts.ts);
 * - a managed account outside UID_MIN..UID_MAX is never given more access, and is an error;
 * - mass removal (more than maxRemovals, or every managed user) needs `force`.
 */
import { mapIamNames } from './names';
import { stableUid } from './uid';
import { readCoverage } from './plan-reads';
import { NAME_SKIPPED, type NoticeCode } from './notice-codes';
import { legacySudoersChanges, resolveLegacyAccounts, type AdoptedNames, type RemoveLegacySudoers, type SudoStanding } from './legacy-accounts';

export interface IamUserSnap {
  userName: string;
  userId: string;
}

export interface IamSnapshot {
  /** Authorized users, from the reads that succeeded. */
  users: IamUserSnap[];
  /** Members (IAM user names) of every IAM group read successfully. */
  groupMembers: Record<string, string[]>;
  /** Groups (or `ListUsers`) whose read failed or was partial. */
  failed: string[];
}

export interface LocalUser {
  name: string;
  uid: number;
}

export interface LocalGroup {
  name: string;
  gid: number;
  members: string[];
  /** Defined only in a read-only base file (Flatcar): membership through userdb drop-ins. */
  base: boolean;
}

export interface RegistryEntry {
  iamName: string;
  iamUserId: string;
  uid: number | null;
  /** An aws-ec2-ssh account taken over in place: managed with its own UID, whatever UID_MIN..UID_MAX say. */
  adopted?: true;
}

export interface LocalSnapshot {
  users: Record<string, LocalUser>;
  groups: Record<string, LocalGroup>;
  /** `user:group` pairs granted through userdb drop-ins. */
  userdbMemberships: string[];
  /** Accounts this tool created (or began to create), by local name. */
  registry: Record<string, RegistryEntry>;
  sudoersContent: string | null;
  /** aws-ec2-ssh's per-user files in /etc/sudoers.d: file name -> content. */
  legacySudoers?: Record<string, string>;
}

export interface PlanSettings {
  authorizedGroups: string[];
  sudoersGroups: string[] | 'all' | null;
  markerGroup: string;
  localGroups: string[];
  groupMap: Record<string, string[]>;
  sudoLocalGroup: string;
  sudoRule: string;
  uidMode: 'hash' | 'auto';
  uidMin: number;
  uidMax: number;
  maxRemovals: number;
  removeHome: boolean;
  /** What becomes of the names of adopted accounts (default keep). */
  adoptedNames?: AdoptedNames;
  /** USERDEL_ARGS named --remove (aws-ec2-ssh's default): ignored, only removeHome deletes a home. */
  userdelArgsRemove?: boolean;
  /** RECORD_GROUPS: whose sessions sshd forces through the recorder (null: nobody). */
  recordGroups?: string[] | 'all' | null;
  recordLocalGroup?: string;
}

export type Via = 'usermod' | 'userdb';
export type Action =
  | { kind: 'create-group'; group: string; reason: string }
  | { kind: 'create-user'; user: string; iamName: string; iamUserId: string; uid: number | null; groups: string[]; reason: string }
  | { kind: 'add-member'; user: string; group: string; via: Via; reason: string }
  | { kind: 'remove-member'; user: string; group: string; via: Via; reason: string }
  | { kind: 'write-sudoers'; content: string; reason: string }
  | { kind: 'remove-user'; user: string; iamName: string | null; keepHome: boolean; userdelArgsRemove?: true; reason: string }
  | { kind: 'adopt-user'; user: string; iamName: string; iamUserId: string; uid: number; reason: string }
  | { kind: 'rename-user'; user: string; to: string; iamName: string; iamUserId: string; uid: number; moveHome: boolean; reason: string }
  | RemoveLegacySudoers;

export interface Notice {
  level: 'info' | 'warn' | 'error';
  code: NoticeCode;
  message: string;
  user?: string;
  iamName?: string;
  /** The IAM group (or ListUsers) whose read failed, for iam_read_failed. */
  group?: string;
}

export interface DesiredUser {
  iamName: string;
  iamUserId: string;
  localName: string;
  uid: number | null;
}

export interface Plan {
  actions: Action[];
  notices: Notice[];
  /** The IAM users that may log in here after the plan is applied (recorded for `keys`). */
  desired: DesiredUser[];
  /** True when every IAM read succeeded. */
  complete: boolean;
  /** True when every read that decides who may log in succeeded: accounts may be removed, `desired` recorded. */
  accessComplete: boolean;
  /** True when removals were wanted but withheld (a failed read they depend on, or a mass-removal guard). */
  removalsWithheld: boolean;
  /** Managed accounts left outside UID_MIN..UID_MAX by the settings: an error of the run. */
  stranded: string[];
}

export function sudoersText(s: PlanSettings): string {
  return `# Managed by iam-ssh sync; changes are overwritten. Members of ${s.sudoLocalGroup} are IAM users of: ${
    s.sudoersGroups === 'all' ? 'every authorized group' : (s.sudoersGroups ?? []).join(', ')
  }\n%${s.sudoLocalGroup} ${s.sudoRule}\n`;
}

/** Own-property lookup: a name such as `constructor` or `toString` must not find Object.prototype's. */
function get<T>(r: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(r, key) ? r[key] : undefined;
}

export function plan(iam: IamSnapshot, local: LocalSnapshot, s: PlanSettings, force = false): Plan {
  const actions: Action[] = [];
  const notices: Notice[] = [];
  const complete = iam.failed.length === 0;
  const reads = readCoverage(iam.failed, s);
  const sudoManaged = s.sudoersGroups !== null;
  // The recorded group is kept as the sudo group is; a read that fails keeps people in it (still recorded).
  const recordGroup = s.recordGroups != null && s.recordLocalGroup ? s.recordLocalGroup : null;
  for (const f of reads.failures) notices.push({ level: 'error', code: 'iam_read_failed', group: f.group, message: `IAM read of ${f.group} failed or was partial: ${f.withheld}` });

  // --- groups that must exist ---------------------------------------------------------
  const groupExists = (g: string) => Object.hasOwn(local.groups, g);
  for (const g of [s.markerGroup, ...(sudoManaged ? [s.sudoLocalGroup] : []), ...(recordGroup ? [recordGroup] : [])]) {
    if (!groupExists(g)) actions.push({ kind: 'create-group', group: g, reason: g === s.markerGroup ? 'marker group of managed users' : g === recordGroup ? 'group of recorded users' : 'sudo group' });
  }
  const own = new Set([s.markerGroup, ...(sudoManaged ? [s.sudoLocalGroup] : []), ...(recordGroup ? [recordGroup] : [])]);
  const usable = (g: string) => own.has(g) || groupExists(g);
  const viaFor = (g: string): Via => (get(local.groups, g)?.base ? 'userdb' : 'usermod');
  const isMember = (user: string, g: string) =>
    (get(local.groups, g)?.members.includes(user) ?? false) || local.userdbMemberships.includes(`${user}:${g}`);
  for (const g of new Set([...s.localGroups, ...Object.values(s.groupMap).flat()])) {
    if (!usable(g)) notices.push({ level: 'warn', code: 'local_group_missing', message: `local group ${g} does not exist; nobody is added to it` });
  }

  // --- who should be here ---------------------------------------------------------------
  const byIamName = new Map(iam.users.map((u) => [u.userName, u]));
  const names = mapIamNames(byIamName.keys());
  const legacy = resolveLegacyAccounts(iam.users, names, {
    users: local.users, registry: local.registry, isMarked: (u) => isMember(u, s.markerGroup), groupExists, markerGroup: s.markerGroup,
  }, s.adoptedNames ?? 'keep');
  const collided = new Set<string>();
  for (const sk of names.skipped) {
    if (legacy.served.has(sk.iamName)) continue;
    if (sk.reason === 'collision') collided.add(sk.localName);
    notices.push({
      level: 'warn', code: NAME_SKIPPED[sk.reason], iamName: sk.iamName, user: sk.localName,
      message: sk.reason === 'collision'
        ? `IAM user ${sk.iamName} skipped: another IAM user maps to the same local name ${sk.localName}`
        : `IAM user ${sk.iamName} skipped: local name ${sk.localName} is ${sk.reason}`,
    });
  }
  notices.push(...legacy.notices);
  const members = (g: string) => new Set(get(iam.groupMembers, g) ?? []);
  const sudoers = s.sudoersGroups === 'all' || s.sudoersGroups === null ? null : new Set(s.sudoersGroups.flatMap((g) => [...members(g)]));
  const recorded = Array.isArray(s.recordGroups) ? new Set(s.recordGroups.flatMap((g) => [...members(g)])) : null;
  /** Groups a user should be in, and which of them we take away when no longer earned. */
  const entitled = (iamName: string): string[] => {
    const gs = new Set([s.markerGroup, ...s.localGroups]);
    if (sudoManaged && (sudoers === null || sudoers.has(iamName))) gs.add(s.sudoLocalGroup);
    if (recordGroup && (recorded === null || recorded.has(iamName))) gs.add(recordGroup);
    for (const [iamGroup, locals] of Object.entries(s.groupMap)) if (members(iamGroup).has(iamName)) locals.forEach((g) => gs.add(g));
    return [...gs].filter(usable);
  };
  const revocable = new Set([...(sudoManaged ? [s.sudoLocalGroup] : []), ...(recordGroup ? [recordGroup] : []), ...Object.values(s.groupMap).flat()].filter((g) => !s.localGroups.includes(g)));

  /** Created by iam-ssh: its registry entry records this very UID (never uid 0). */
  const created = (name: string): boolean => {
    const u = get(local.users, name);
    const reg = get(local.registry, name);
    return u !== undefined && u.uid > 0 && reg !== undefined && reg.uid === u.uid;
  };
  // Ours whatever UID_MIN becomes, so that a setting change never silently stops revocation;
  // a marked account (or one registered before useradd told its UID) only from UID_MIN up.
  const managed = (name: string): boolean => {
    if (created(name) || legacy.adopt.has(name)) return true;
    const u = get(local.users, name);
    if (!u || u.uid < s.uidMin) return false;
    return isMember(name, s.markerGroup) || get(local.registry, name)?.uid === null;
  };
  const inRange = (uid: number) => uid >= s.uidMin && uid <= s.uidMax;
  /** Adopted (now or before): its UID came with it, so UID_MIN..UID_MAX do not bound it. */
  const adopted = (name: string) => legacy.adopt.has(name) || (created(name) && get(local.registry, name)?.adopted === true);
  /** Who keeps an account, for aws-ec2-ssh's sudoers files. */
  const staying: SudoStanding[] = [];
  const sudoOf = (groups: string[]) => sudoManaged && groups.includes(s.sudoLocalGroup);

  const taken = new Set<number>([...Object.values(local.users).map((u) => u.uid), ...Object.values(local.groups).map((g) => g.gid)]);
  const desired: DesiredUser[] = [];
  let removalsWithheld = false;
  const revocationsWithheld: string[] = [];
  for (const [localName, iamName] of [...legacy.byLocal].sort(([a], [b]) => a.localeCompare(b))) {
    const iamUser = byIamName.get(iamName)!;
    const existing = get(local.users, localName);
    const groups = entitled(iamName);
    if (existing) {
      if (!managed(localName)) {
        notices.push(existing.uid < s.uidMin
          ? { level: 'warn', code: 'protected_account', user: localName, iamName, message: `local account ${localName} (uid ${existing.uid}) is below UID_MIN and is never touched` }
          : { level: 'warn', code: 'unmanaged_conflict', user: localName, iamName, message: `local account ${localName} exists but is not managed by iam-ssh; IAM user ${iamName} is not given access to it` });
        continue;
      }
      const reg = get(local.registry, localName);
      if (reg && reg.iamUserId !== iamUser.userId) {
        notices.push({ level: 'error', code: 'identity_changed', user: localName, iamName, message: `IAM user ${iamName} was re-created (new UserId); the account ${localName} belonged to the old one and is left alone: remove it to let the new user in` });
        continue;
      }
      if (legacy.adopt.has(localName)) actions.push({ kind: 'adopt-user', user: localName, iamName, iamUserId: iamUser.userId, uid: existing.uid, reason: `aws-ec2-ssh's account of IAM user ${iamName}: kept as it is` });
      // Outside UID_MIN..UID_MAX (reported below): revoked as usual, never given more.
      const widen = inRange(existing.uid) || adopted(localName);
      for (const g of groups) if (widen && !isMember(localName, g)) actions.push({ kind: 'add-member', user: localName, group: g, via: viaFor(g), reason: `IAM user ${iamName} is entitled to ${g}` });
      for (const g of revocable) {
        if (!groups.includes(g) && isMember(localName, g)) {
          if (reads.revocationKnown(g)) actions.push({ kind: 'remove-member', user: localName, group: g, via: viaFor(g), reason: `IAM user ${iamName} is no longer entitled to ${g}` });
          else revocationsWithheld.push(`${localName} (${g})`);
        }
      }
      staying.push({ user: localName, entitled: sudoOf(groups), inGroupAfter: isMember(localName, s.sudoLocalGroup) || (widen && sudoOf(groups)) });
      const to = legacy.renameTo.get(localName);
      if (to) actions.push({ kind: 'rename-user', user: localName, to, iamName, iamUserId: iamUser.userId, uid: existing.uid, moveHome: s.adoptedNames === 'rename-home', reason: `ADOPTED_NAMES=${s.adoptedNames}: iam-ssh's name of IAM user ${iamName}` });
      desired.push({ iamName, iamUserId: iamUser.userId, localName: to ?? localName, uid: existing.uid });
      continue;
    }
    if (groupExists(localName) || own.has(localName)) {
      // useradd --user-group would fail on every run: say so once and leave the user out.
      notices.push({ level: 'warn', code: 'name_is_group', user: localName, iamName, message: `IAM user ${iamName} skipped: its local name is the name of the local group ${localName}` });
      continue;
    }
    let uid: number | null = null;
    if (s.uidMode === 'hash') {
      const reg = get(local.registry, localName);
      const reuse = reg && reg.iamUserId === iamUser.userId && reg.uid !== null && inRange(reg.uid) && !taken.has(reg.uid);
      uid = reuse ? reg.uid : stableUid(iamUser.userId, s.uidMin, s.uidMax, taken);
      if (uid === null) {
        notices.push({ level: 'error', code: 'uid_exhausted', user: localName, iamName, message: `no free UID found for ${iamName}; set UID_MODE=auto or widen UID_MIN..UID_MAX` });
        continue;
      }
      if (uid !== stableUid(iamUser.userId, s.uidMin, s.uidMax, new Set())) {
        notices.push({ level: 'warn', code: 'uid_collision', user: localName, iamName, message: `the stable UID of ${iamName} is taken here; using fallback UID ${uid}` });
      }
      taken.add(uid);
    }
    const direct = groups.filter((g) => viaFor(g) === 'usermod');
    actions.push({ kind: 'create-user', user: localName, iamName, iamUserId: iamUser.userId, uid, groups: direct, reason: `IAM user ${iamName} is authorized` });
    for (const g of groups.filter((g) => viaFor(g) === 'userdb')) actions.push({ kind: 'add-member', user: localName, group: g, via: 'userdb', reason: `IAM user ${iamName} is entitled to ${g}` });
    staying.push({ user: localName, entitled: sudoOf(groups), inGroupAfter: sudoOf(groups) });
    desired.push({ iamName, iamUserId: iamUser.userId, localName, uid });
  }

  if (revocationsWithheld.length > 0) {
    removalsWithheld = true;
    notices.push({ level: 'warn', code: 'revocation_deferred', message: `not revoking ${revocationsWithheld.join(', ')}: an IAM group that grants it could not be read` });
  }

  // --- who should go ------------------------------------------------------------------------
  const keep = new Set([...legacy.byLocal.keys(), ...legacy.keepAside]);
  const leaving = Object.keys(local.users).filter((n) => managed(n) && !keep.has(n)).sort();
  const removable: string[] = [];
  for (const name of leaving) {
    if (collided.has(name)) {
      notices.push({ level: 'warn', code: 'removal_skipped_collision', user: name, message: `${name} is not removed: its IAM name now collides with another; resolve the collision in IAM` });
      continue;
    }
    removable.push(name);
  }
  if (removable.length > 0) {
    // Nobody authorized at all is far more often a broken read or config than a real wish.
    const leavesNobody = desired.length === 0;
    if (!reads.accessComplete) {
      removalsWithheld = true;
      notices.push({ level: 'warn', code: 'removal_deferred', message: `not removing ${removable.join(', ')}: the IAM read of the authorized groups was incomplete` });
    } else if (!force && (removable.length > s.maxRemovals || leavesNobody)) {
      removalsWithheld = true;
      notices.push({
        level: 'error', code: 'removal_refused',
        message: leavesNobody
          ? `refusing to remove every managed user (${removable.length}); check IAM_AUTHORIZED_GROUPS, or run with --force`
          : `refusing to remove ${removable.length} users at once (MAX_REMOVALS=${s.maxRemovals}); run with --force if this is intended`,
      });
    } else {
      // aws-ec2-ssh's USERDEL_ARGS --remove is not a wish iam-ssh acts on: the plan says what it would have done.
      const legacyRemove = s.userdelArgsRemove === true && !s.removeHome;
      for (const name of removable) {
        actions.push({ kind: 'remove-user', user: name, iamName: get(local.registry, name)?.iamName ?? null, keepHome: !s.removeHome, ...(legacyRemove ? { userdelArgsRemove: true as const } : {}), reason: 'no longer a member of the authorized IAM groups' });
      }
      if (legacyRemove) notices.push({ level: 'warn', code: 'userdel_remove_ignored', message: `USERDEL_ARGS has --remove (aws-ec2-ssh's default), which would delete the homes of ${removable.join(', ')}; iam-ssh keeps them: set REMOVE_HOME=yes to delete homes` });
    }
  }
  const removed = new Set(actions.flatMap((a) => (a.kind === 'remove-user' ? [a.user] : [])));
  const oldSudoers = legacySudoersChanges(local.legacySudoers ?? {}, staying, [...removed], { managed: sudoManaged, sudoLocalGroup: s.sudoLocalGroup, revocationKnown: reads.revocationKnown(s.sudoLocalGroup) });
  actions.push(...oldSudoers.actions);
  notices.push(...oldSudoers.notices);
  removalsWithheld ||= oldSudoers.withheld;
  const stranded = Object.keys(local.users).filter((n) => managed(n) && !adopted(n) && !inRange(local.users[n]!.uid) && !removed.has(n)).sort();
  for (const name of stranded) {
    const uid = local.users[name]!.uid;
    const iamName = desired.find((d) => d.localName === name)?.iamName ?? get(local.registry, name)?.iamName;
    notices.push({
      level: 'error', code: 'uid_out_of_range', user: name, ...(iamName ? { iamName } : {}),
      message: `managed account ${name} (uid ${uid}) is ${uid < s.uidMin ? `below UID_MIN=${s.uidMin}` : `above UID_MAX=${s.uidMax}`}: its access is still revoked but never widened, and sync fails until UID_MIN..UID_MAX covers it again`,
    });
  }
  for (const name of Object.keys(local.users)) {
    if (!managed(name) && get(local.registry, name) && local.users[name]!.uid >= s.uidMin) {
      notices.push({ level: 'warn', code: 'registry_mismatch', user: name, message: `${name} is in the registry with another UID; left alone` });
    }
  }

  // --- sudoers drop-in ----------------------------------------------------------------------
  if (sudoManaged) {
    const content = sudoersText(s);
    if (local.sudoersContent !== content) actions.push({ kind: 'write-sudoers', content, reason: local.sudoersContent === null ? 'sudo rule for the sudo group' : 'sudo rule changed' });
  }

  return { actions: order(actions), notices, desired, complete, accessComplete: reads.accessComplete, removalsWithheld, stranded };
}

// aws-ec2-ssh's sudoers files go after the memberships that stand in for them; a rename comes after
// the memberships given under the old name (usermod -l keeps them), before any removal.
const ORDER: Record<Action['kind'], number> = {
  'create-group': 0, 'write-sudoers': 1, 'create-user': 2, 'adopt-user': 2, 'add-member': 3, 'remove-member': 4,
  'remove-legacy-sudoers': 5, 'rename-user': 6, 'remove-user': 7,
};
function order(actions: Action[]): Action[] {
  return actions.map((a, i) => [a, i] as const).sort(([a, i], [b, j]) => ORDER[a.kind] - ORDER[b.kind] || i - j).map(([a]) => a);
}
