/**
 * The account files as shadow-utils writes them (passwd, shadow, group, gshadow), and what a
 * killed groupadd, useradd or userdel leaves in them. Each of those tools commits its files one
 * after another (passwd, shadow, group, gshadow; useradd then makes the home), so a kill between
 * two commits leaves an account without its shadow entry, a member listed in group but not in
 * gshadow, or, after the account is gone, its group and memberships.
 */

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface GshadowEntry {
  name: string;
  admins: string[];
  members: string[];
}

/** The files' contents; null for a file the host does not have (no shadow or no gshadow). */
export interface AccountFiles {
  passwd: PasswdEntry[];
  group: GroupEntry[];
  shadow: string[] | null;
  gshadow: GshadowEntry[] | null;
}

/**
 * What a home holds, next to the skeleton directory: only a whole copy of it, only an unfinished
 * copy (files of root's, cut short or missing: useradd was killed copying), or anything else.
 */
export type SkeletonCopy = 'whole' | 'unfinished' | 'other';

/** The home directory of an account, as found. */
export interface HomeFacts {
  copy: SkeletonCopy;
}

function rows(text: string): string[][] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(':'));
}
const list = (s: string | undefined) => (s ?? '').split(',').filter(Boolean);
const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : NaN);

export function parseAccountFiles(text: { passwd: string; group: string; shadow: string | null; gshadow: string | null }): AccountFiles {
  return {
    passwd: rows(text.passwd).map(([name, , uid, gid, , home]) => ({ name: name!, uid: num(uid), gid: num(gid), home: home ?? '' })).filter((p) => p.name && !Number.isNaN(p.uid)),
    group: rows(text.group).map(([name, , gid, members]) => ({ name: name!, gid: num(gid), members: list(members) })).filter((g) => g.name && !Number.isNaN(g.gid)),
    shadow: text.shadow === null ? null : rows(text.shadow).map(([name]) => name!).filter(Boolean),
    gshadow: text.gshadow === null ? null : rows(text.gshadow).map(([name, , admins, members]) => ({ name: name!, admins: list(admins), members: list(members) })).filter((g) => g.name),
  };
}

/**
 * The private group a registered account left behind when it does not exist: named like it,
 * with its registered UID as GID, without members, nobody's primary group. Its number must stay
 * free for the account (the planner counts every GID as taken), and it is removed as ours.
 */
export function leftoverPrivateGroup(name: string, uid: number | null, files: Pick<AccountFiles, 'passwd' | 'group'>): GroupEntry | null {
  if (uid === null || files.passwd.some((p) => p.name === name || p.gid === uid)) return null;
  const g = files.group.find((e) => e.name === name);
  return g && g.gid === uid && g.members.length === 0 ? g : null;
}

/** What is left in the files of an account that no longer exists; empty when nothing is. */
export function leftoversOf(name: string, uid: number | null, files: AccountFiles): string[] {
  const found: string[] = [];
  if (files.shadow?.includes(name)) found.push('shadow entry');
  const groups = new Set([
    ...files.group.filter((g) => g.members.includes(name)).map((g) => g.name),
    ...(files.gshadow ?? []).filter((g) => g.members.includes(name) || g.admins.includes(name)).map((g) => g.name),
  ]);
  for (const g of [...groups].sort()) found.push(`member of ${g}`);
  if (leftoverPrivateGroup(name, uid, files)) found.push(`group ${name}`);
  else if (files.gshadow?.some((g) => g.name === name) && !files.group.some((g) => g.name === name)) found.push(`gshadow entry ${name}`);
  return found;
}

/** Only the private group is left: groupdel removes it; anything more needs the account back for userdel. */
export function onlyPrivateGroupLeft(leftovers: readonly string[], name: string): boolean {
  return leftovers.length === 1 && leftovers[0] === `group ${name}`;
}

/**
 * What keeps an account whose creation was interrupted from being what useradd makes; empty
 * when it is complete. `home` is null when there is nothing at the home path; it is checked only
 * when useradd makes homes.
 */
export function unfinishedParts(name: string, files: AccountFiles, primaryGroupExists: boolean, home: HomeFacts | null, createsHome: boolean | null): string[] {
  const p = files.passwd.find((e) => e.name === name);
  if (!p) return ['no passwd entry'];
  const parts: string[] = [];
  if (files.shadow && !files.shadow.includes(name)) parts.push('no shadow entry');
  if (!primaryGroupExists) parts.push(`no group ${p.gid}`);
  if (files.gshadow) {
    const own = files.group.find((g) => g.name === name && g.gid === p.gid);
    if (own && !files.gshadow.some((g) => g.name === own.name)) parts.push(`no gshadow entry for group ${name}`);
    for (const g of files.group.filter((e) => e.members.includes(name))) {
      const sg = files.gshadow.find((e) => e.name === g.name);
      if (sg && !sg.members.includes(name)) parts.push(`member of ${g.name} in group but not in gshadow`);
    }
  }
  if (createsHome === true) {
    if (!home) parts.push(`no home ${p.home}`);
    else if (home.copy === 'unfinished') parts.push(`home ${p.home} is an unfinished copy of the skeleton`);
  }
  return parts;
}

/** The groups that list the account as a member in the group file (its supplementary groups). */
export function membershipsOf(name: string, files: Pick<AccountFiles, 'group'>): string[] {
  return files.group.filter((g) => g.members.includes(name)).map((g) => g.name);
}
