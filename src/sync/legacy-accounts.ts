/**
 * Taking over the accounts aws-ec2-ssh made, in place. Pure: the planner (plan.ts) asks it which
 * local name serves each authorized IAM user, which accounts to adopt or rename, and what becomes
 * of aws-ec2-ssh's per-user sudoers files.
 *
 * aws-ec2-ssh named an account after its IAM user with case kept (`Alice.Smith`; Amazon Linux's
 * and RHEL's useradd accept upper case) and marked it with the marker group. Such an account is
 * adopted: registered with its own UID, never re-created, renamed or moved unless ADOPTED_NAMES
 * asks for it. People keep the login name they type today; their home, files and UID stay.
 */
import { isLegacyLocalName, toLegacyName, toLocalName, type NameMapping } from './names';
import type { NoticeCode } from './notice-codes';

/** What this module reads of the planner's inputs, and the notices it gives (plan.ts's types fit). */
interface Account { uid: number }
interface Registered { uid: number | null; adopted?: true }
export interface LegacyNotice { level: 'warn'; code: NoticeCode; message: string; user?: string; iamName?: string }

/** What becomes of an adopted account's name: kept (the default), or renamed to iam-ssh's lower-case form, its home moved too. */
export type AdoptedNames = 'keep' | 'rename' | 'rename-home';

/** aws-ec2-ssh wrote its sudoers files here, whatever the config says. */
export const LEGACY_SUDOERS_DIR = '/etc/sudoers.d';

/** aws-ec2-ssh's file for an account: every `.` replaced by a space, since sudo skips file names with a dot. */
export function legacySudoersPath(user: string, dir = LEGACY_SUDOERS_DIR): string {
  return `${dir}/${user.replace(/\./g, ' ')}`;
}

/** Exactly what aws-ec2-ssh writes into that file (its echo ends the line; a file without the line break counts too). */
export function isLegacySudoersRule(user: string, content: string): boolean {
  const rule = `${user} ALL=(ALL) NOPASSWD:ALL`;
  return content === `${rule}\n` || content === rule;
}

export interface LegacyView {
  users: Record<string, Account>;
  registry: Record<string, Registered>;
  isMarked(user: string): boolean;
  groupExists(group: string): boolean;
  markerGroup: string;
}

export interface LegacyResolution {
  /** local name -> IAM name: the names.ts mapping, with aws-ec2-ssh's account in place of the mapped name where it serves the user. */
  byLocal: Map<string, string>;
  /** Accounts adopted by this run. */
  adopt: Set<string>;
  /** Adopted accounts this run renames: current name -> iam-ssh's name. */
  renameTo: Map<string, string>;
  /** IAM users served by an aws-ec2-ssh account although names.ts skipped their mapped name. */
  served: Set<string>;
  /** aws-ec2-ssh's names of the authorized IAM users: whatever happens to them, never removed as leavers. */
  keepAside: Set<string>;
  notices: LegacyNotice[];
}

const own = <T>(r: Record<string, T>, key: string): T | undefined => (Object.hasOwn(r, key) ? r[key] : undefined);

export function resolveLegacyAccounts(users: readonly { userName: string }[], names: NameMapping, view: LegacyView, adoptedNames: AdoptedNames): LegacyResolution {
  const out: LegacyResolution = { byLocal: new Map(names.byLocal), adopt: new Set(), renameTo: new Map(), served: new Set(), keepAside: new Set(), notices: [] };
  const unusable = new Set(names.skipped.filter((s) => s.reason === 'collision' || s.reason === 'not-iam-name').map((s) => s.iamName));
  for (const { userName: iamName } of [...users].sort((a, b) => (a.userName < b.userName ? -1 : 1))) {
    if (unusable.has(iamName)) continue;
    const mapped = toLocalName(iamName);
    const legacy = toLegacyName(iamName);
    const mappedOk = names.byLocal.get(mapped) === iamName;
    const account = own(view.users, legacy);
    if (!account) {
      // Under the mapped name, unregistered and marked: made by a fork of aws-ec2-ssh that lower-cased
      // names, or renamed by a run killed before it recorded the new name. Adopted like the others.
      const lower = mappedOk ? own(view.users, mapped) : undefined;
      if (lower && lower.uid > 0 && !own(view.registry, mapped) && view.isMarked(mapped)) out.adopt.add(mapped);
      continue;
    }
    out.keepAside.add(legacy);
    let servedBy: string | null = null;
    const serveBy = (name: string) => {
      servedBy = name;
      // The mapped name, if it has an account too, is set aside: never removed as a leaver.
      if (mappedOk) {
        out.byLocal.delete(mapped);
        out.keepAside.add(mapped);
      }
      out.byLocal.set(name, iamName);
      if (!mappedOk) out.served.add(iamName);
    };
    const other = legacy !== mapped && mappedOk ? own(view.users, mapped) : undefined;
    const duplicate = () => out.notices.push({ level: 'warn', code: 'legacy_duplicate', user: legacy, iamName, message: `IAM user ${iamName} has two accounts here, ${legacy} (aws-ec2-ssh's, uid ${account.uid}) and ${mapped}; ${mapped} is kept and ${legacy} is left alone: move its files and remove it by hand` });
    if (other && own(view.registry, mapped)) {
      // iam-ssh made the mapped account already (an earlier version, before adoption): that one stays.
      if (view.isMarked(legacy) || own(view.registry, legacy)) duplicate();
    } else if (own(view.registry, legacy)) {
      // Registered: adopted before; the planner checks the entry as for any account.
      if (legacy !== mapped || !mappedOk) serveBy(legacy);
    } else if (other) {
      if (view.isMarked(legacy)) duplicate();
    } else {
      const why = !view.isMarked(legacy) ? `it is not a member of ${view.markerGroup}`
        : account.uid <= 0 ? `its uid is ${account.uid}`
          : !isLegacyLocalName(legacy) ? 'iam-ssh does not take that name'
            : null;
      if (why === null) {
        out.adopt.add(legacy);
        serveBy(legacy);
      } else if (legacy !== mapped || !mappedOk || view.isMarked(legacy)) {
        // Another account under the mapped name would stand beside this one: none is made.
        if (mappedOk) out.byLocal.delete(mapped);
        out.notices.push({ level: 'warn', code: 'legacy_not_adopted', user: legacy, iamName, message: `the account ${legacy} is named as aws-ec2-ssh names IAM user ${iamName} but is not adopted: ${why}; ${iamName} gets no account here` });
      }
      // An unmarked account under the mapped name itself is the planner's (unmanaged_conflict or protected_account).
    }
    // Only an adopted account under aws-ec2-ssh's spelling has another name to take.
    const current: string | null = servedBy;
    const entry = current !== null ? own(view.registry, current) : undefined;
    const adopted = current !== null && (out.adopt.has(current) || (entry?.adopted === true && entry.uid === account.uid));
    if (adoptedNames !== 'keep' && current !== null && adopted && current !== mapped && mappedOk) {
      if (own(view.users, mapped) || view.groupExists(mapped)) {
        out.notices.push({ level: 'warn', code: 'rename_blocked', user: current, iamName, message: `${current} is not renamed to ${mapped} (ADOPTED_NAMES=${adoptedNames}): ${own(view.users, mapped) ? 'an account' : 'a group'} of that name exists` });
      } else out.renameTo.set(current, mapped);
    }
  }
  return out;
}

/** What the planner knows of one user whose account stays, for the legacy sudoers file. */
export interface SudoStanding {
  /** The account's name now (the file is named after it). */
  user: string;
  /** IAM says the user gets sudo. */
  entitled: boolean;
  /** After this run the user is in the sudo group (a member now, or added by the plan). */
  inGroupAfter: boolean;
}

export interface LegacySudoersSettings {
  /** False when SUDOERS_GROUPS is empty: iam-ssh does not manage sudo. */
  managed: boolean;
  sudoLocalGroup: string;
  /** Every IAM read that grants the sudo group succeeded. */
  revocationKnown: boolean;
}

export type RemoveLegacySudoers = { kind: 'remove-legacy-sudoers'; user: string; file: string; content: string; grant: string | null; reason: string };

/**
 * aws-ec2-ssh's files of the accounts that stay and of those removed. A file goes only once
 * iam-ssh's rule stands in for it (the apply step checks that again, with `visudo -c`), or when
 * IAM says the user loses sudo; never on a failed read, never when sudo is not managed.
 */
export function legacySudoersChanges(
  files: Readonly<Record<string, string>>, staying: readonly SudoStanding[], removed: readonly string[], s: LegacySudoersSettings,
): { actions: RemoveLegacySudoers[]; notices: LegacyNotice[]; withheld: boolean } {
  const actions: RemoveLegacySudoers[] = [];
  const notices: LegacyNotice[] = [];
  const fileOf = (user: string) => {
    const file = legacySudoersPath(user);
    const name = file.slice(LEGACY_SUDOERS_DIR.length + 1);
    const content = Object.hasOwn(files, name) ? files[name]! : null;
    return content !== null && isLegacySudoersRule(user, content) ? { file, content } : null;
  };
  const unmanaged: string[] = [];
  const deferred: string[] = [];
  let withheld = false;
  for (const u of staying) {
    const f = fileOf(u.user);
    if (!f) continue;
    if (!s.managed) unmanaged.push(f.file);
    else if (u.entitled && u.inGroupAfter) actions.push({ kind: 'remove-legacy-sudoers', user: u.user, ...f, grant: s.sudoLocalGroup, reason: `iam-ssh's rule grants sudo through ${s.sudoLocalGroup}` });
    else if (!u.entitled && s.revocationKnown) actions.push({ kind: 'remove-legacy-sudoers', user: u.user, ...f, grant: null, reason: 'not in SUDOERS_GROUPS: the user loses sudo' });
    else {
      // Not entitled as far as this run knows, but a sudo group's read failed: a revocation withheld.
      withheld ||= !u.entitled;
      deferred.push(u.user);
    }
  }
  for (const user of removed) {
    const f = fileOf(user);
    if (f) actions.push({ kind: 'remove-legacy-sudoers', user, ...f, grant: null, reason: 'the account is removed' });
  }
  if (unmanaged.length) {
    notices.push({ level: 'warn', code: 'legacy_sudoers_unmanaged', message: `SUDOERS_GROUPS is empty, so iam-ssh does not manage sudo: aws-ec2-ssh's ${unmanaged.join(', ')} still grant sudo; set SUDOERS_GROUPS to move them to iam-ssh's rule, or delete them` });
  }
  if (deferred.length) {
    notices.push({ level: 'warn', code: 'legacy_sudoers_deferred', message: `aws-ec2-ssh's sudoers files of ${deferred.join(', ')} are kept: whether IAM grants them sudo is not known this run` });
  }
  return { actions, notices, withheld };
}
