/**
 * Who gets a login notification: a pure decision from the PAM call, the NOTIFY_* settings
 * and the member record that sync left (IAM user and IAM groups per local name). It never
 * asks IAM: it runs inside every login.
 *
 * When membership cannot be known (no record yet, or a group sync has not read yet), the
 * login is reported: an unreported break-glass login is worse than one message too many.
 */
import { isLegacyLocalNameSyntax, isLocalNameSyntax } from '../util/validators';

export interface NotifySettings {
  /** IAM groups whose members are reported; 'all': every managed user; []: nobody. */
  groups: string[] | 'all';
  ignoreUsers: readonly string[];
}

export interface RecordedUser {
  localName: string;
  iamName: string;
  groups?: string[];
}

export interface MemberRecord {
  users: readonly RecordedUser[];
  /** Groups whose membership the record holds. */
  groupsRead?: readonly string[];
}

export type NotifyDecision =
  | { notify: true; iamUser: string | null; reason: string }
  | { notify: false; reason: string };

/** A name as shadow-utils accepts it; PAM_USER is checked before it is looked up or printed. */

export function decideNotify(pamType: string | undefined, user: string | undefined, settings: NotifySettings, record: MemberRecord | null): NotifyDecision {
  if (pamType !== 'open_session') return { notify: false, reason: 'not an open_session call' };
  if (settings.groups !== 'all' && settings.groups.length === 0) return { notify: false, reason: 'NOTIFY_GROUPS is empty' };
  // iam-ssh's form of a name, or the one aws-ec2-ssh gave an account that sync adopted
  if (user === undefined || !(isLocalNameSyntax(user) || isLegacyLocalNameSyntax(user))) return { notify: false, reason: 'PAM_USER is not a valid local name' };
  if (settings.ignoreUsers.includes(user)) return { notify: false, reason: 'user is in NOTIFY_IGNORE_USERS' };
  if (!record) return { notify: true, iamUser: null, reason: 'no member record from sync: membership unknown' };
  const u = record.users.find((r) => r.localName === user);
  if (!u) return { notify: false, reason: 'not a user managed by sync' };
  if (settings.groups === 'all') return { notify: true, iamUser: u.iamName, reason: 'NOTIFY_GROUPS is ##ALL##' };
  const member = settings.groups.filter((g) => u.groups?.includes(g));
  if (member.length) return { notify: true, iamUser: u.iamName, reason: `member of ${member.join(', ')}` };
  const unread = settings.groups.filter((g) => !record.groupsRead?.includes(g));
  if (unread.length || !u.groups) return { notify: true, iamUser: u.iamName, reason: `membership of ${(unread.length ? unread : settings.groups).join(', ')} not recorded yet` };
  return { notify: false, reason: 'not a member of NOTIFY_GROUPS' };
}
