/**
 * Local accounts through the system's own tools (useradd, usermod, gpasswd, userdel) and
 * systemd-userdb drop-ins for Flatcar's read-only base groups. Reading uses getent, so
 * every NSS source (files, altfiles, systemd) counts when deciding what exists.
 */
import { writeFileAtomic } from '../util/atomic-file';
import { existsSync, lstatSync, readFileSync, readdirSync, unlinkSync, mkdirSync, rmSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/config';
import type { LocalGroup, LocalUser } from './plan';
import { mustExec, type Exec } from '../platform/exec';
import { readUseraddArgs } from './useradd-args';
import { skeletonCopy } from './home-skeleton';
import { Registry } from './registry';
import { readSudoers } from './sudoers';
import { readLegacySudoers, removeLegacySudoers } from './legacy-sudoers';
import {
  leftoverPrivateGroup, leftoversOf, membershipsOf, onlyPrivateGroupLeft, parseAccountFiles, unfinishedParts,
  type AccountFiles, type HomeFacts,
} from './account-files';

export interface AccountsSnapshot {
  users: Record<string, LocalUser>;
  groups: Record<string, LocalGroup>;
  userdbMemberships: string[];
  /** aws-ec2-ssh's per-user sudoers files: file name -> content. */
  legacySudoers: Record<string, string>;
}

function parseColonFile(text: string): string[][] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(':'));
}

export class Accounts {
  constructor(
    private readonly config: Config,
    private readonly run: Exec,
  ) {}

  async snapshot(): Promise<AccountsSnapshot> {
    const passwd = await mustExec(this.run, 'getent', ['passwd']);
    const group = await mustExec(this.run, 'getent', ['group']);
    const users: Record<string, LocalUser> = {};
    for (const [name, , uid] of parseColonFile(passwd.stdout)) if (name && uid) users[name] = { name, uid: Number(uid) };
    const groups: Record<string, LocalGroup> = {};
    for (const [name, , gid, members] of parseColonFile(group.stdout)) {
      if (name && gid) groups[name] = { name, gid: Number(gid), members: members ? members.split(',').filter(Boolean) : [], base: false };
    }
    // The private group of a registered account that a killed run left without its account is
    // not shown: its GID is that account's UID, to be used again, not a collision to avoid. The
    // run removes it (apply.ts) before creating the account again.
    const present = parseAccountFiles({ passwd: passwd.stdout, group: '', shadow: null, gshadow: null }).passwd;
    for (const [name, entry] of Object.entries(new Registry(this.config.stateDir).all())) {
      const g = Object.hasOwn(groups, name) ? groups[name]! : null;
      if (g && leftoverPrivateGroup(name, entry.uid, { passwd: present, group: [g] })) delete groups[name];
    }
    // A group in the read-only base file and not in /etc/group cannot be changed by gpasswd.
    const etcGroups = new Set(parseColonFile(safeRead('/etc/group')).map((f) => f[0]));
    for (const [name, , gid] of parseColonFile(safeRead(this.config.baseGroupFile))) {
      if (!name || etcGroups.has(name)) continue;
      const g = groups[name] ?? { name, gid: Number(gid), members: [], base: true };
      groups[name] = { ...g, base: true };
    }
    return { users, groups, userdbMemberships: this.userdbMemberships(), legacySudoers: readLegacySudoers() };
  }

  /**
   * The userdb membership drop-ins that make a membership. An empty regular file is none: systemd
   * before 258 reads it as a mask (earlier versions of sync wrote such files; the plan then adds
   * the membership again, which rewrites the file as `{}`).
   */
  private userdbMemberships(): string[] {
    return this.userdbMembershipFiles().filter((m) => {
      try {
        const st = lstatSync(join(this.config.userdbDir, `${m}.membership`));
        return !(st.isFile() && st.size === 0);
      } catch {
        return false;
      }
    });
  }

  /** Every `<user>:<group>.membership` name in the userdb directory, empty or not. */
  private userdbMembershipFiles(): string[] {
    try {
      return readdirSync(this.config.userdbDir).filter((f) => f.endsWith('.membership')).map((f) => f.slice(0, -'.membership'.length));
    } catch {
      return [];
    }
  }

  async createGroup(group: string): Promise<void> {
    await mustExec(this.run, 'groupadd', ['--system', group]);
  }

  /**
   * The private group is made first, with GID = UID, then the account with that group: left to
   * itself, useradd --user-group takes the next free GID, which after a removal is the GID of the
   * kept home just left behind. (useradd -K GID_MIN=GID_MAX=UID would do it in one step, but
   * shadow-utils before 4.6, as on Amazon Linux 2, allocates GID_MAX bytes for that.)
   */
  async createUser(user: string, iamName: string, uid: number | null, groups: string[]): Promise<void> {
    const c = this.config;
    const useradd = readUseraddArgs(c.useraddArgs);
    const args = [...useradd.args];
    if (uid !== null) args.push('--uid', String(uid));
    else args.push('--key', `UID_MIN=${c.uidMin}`, '--key', `UID_MAX=${c.uidMax}`);
    let madeGroup = false;
    if (useradd.privateGroup && uid !== null) {
      await mustExec(this.run, 'groupadd', ['--gid', String(uid), '--', user]);
      madeGroup = true;
      args.push('--gid', String(uid));
    } else if (useradd.privateGroup) {
      // UID_MODE=auto: useradd prefers GID = UID when that GID is free in the range it is given.
      args.push('--user-group', '--key', `GID_MIN=${c.uidMin}`, '--key', `GID_MAX=${c.uidMax}`);
    }
    // --no-log-init: a UID near 2^31 would otherwise make lastlog/faillog sparse files of hundreds of GB.
    // '*' (not useradd's '!') leaves no password but does not lock the account for sshd with UsePAM no.
    args.push('--no-log-init', '--password', '*', '--comment', `IAM user ${iamName}`);
    if (groups.length) args.push('--groups', groups.join(','));
    try {
      await mustExec(this.run, c.useraddProgram, [...args, '--', user]);
    } catch (e) {
      // Leave no group without its user (groupdel refuses a group that is an account's primary).
      if (madeGroup) await this.run('groupdel', ['--', user]);
      throw e;
    }
  }

  /** What keeps an account whose creation was interrupted from being what useradd makes. */
  async unfinished(user: string): Promise<string[]> {
    const files = readAccountFiles();
    const p = files.passwd.find((e) => e.name === user);
    const primary = p !== undefined && (await this.run('getent', ['group', String(p.gid)])).exitCode === 0;
    return unfinishedParts(user, files, primary, p ? this.homeFacts(p.home, p.uid) : null, readUseraddArgs(this.config.useraddArgs).createsHome);
  }

  private homeFacts(path: string, uid: number): HomeFacts | null {
    if (!path.startsWith('/') || !existsSync(path)) return null;
    return { copy: skeletonCopy(path, this.skelDir(), uid) };
  }

  /** useradd's skeleton directory: --skel, else SKEL in /etc/default/useradd, else /etc/skel. */
  private skelDir(): string {
    const fromArgs = readUseraddArgs(this.config.useraddArgs).skel;
    if (fromArgs) return fromArgs;
    const line = safeRead('/etc/default/useradd').split('\n').find((l) => /^SKEL=/.test(l.trim()));
    const value = line?.trim().slice('SKEL='.length).replace(/^(["'])(.*)\1$/, '$2');
    return value && value.startsWith('/') ? value : '/etc/skel';
  }

  /**
   * An account a killed useradd left unfinished (never used: it was not yet in the record keys
   * trusts) is deleted and made again in the groups it is in. Its home is kept, except one that
   * holds only an unfinished copy of the skeleton: that goes (nothing is lost), so that useradd
   * makes the home whole.
   */
  async recreateUser(user: string, iamName: string, uid: number): Promise<void> {
    const files = readAccountFiles();
    const p = files.passwd.find((e) => e.name === user);
    if (!p || p.uid !== uid) throw new Error(`${user} is not the account with uid ${uid}`);
    const groups = membershipsOf(user, files);
    if (this.homeFacts(p.home, uid)?.copy === 'unfinished') rmSync(p.home, { recursive: true });
    await mustExec(this.run, this.config.userdelProgram, [...this.config.userdelArgs, '--', user]);
    await this.clearLeftovers(user, uid);
    await this.createUser(user, iamName, uid, groups);
  }

  /**
   * Removes what a killed run left of a registered account that no longer exists. A lone private
   * group goes with groupdel; a shadow entry or memberships of a name without an account have no
   * tool of their own, so the name gets an account for a moment (no home) and userdel removes it
   * all. Homes are never removed here.
   */
  async clearLeftovers(user: string, uid: number | null): Promise<string[]> {
    if ((await this.run('getent', ['passwd', user])).exitCode === 0) throw new Error(`${user} exists: nothing of it is a leftover`);
    const files = readAccountFiles();
    const found = leftoversOf(user, uid, files);
    if (onlyPrivateGroupLeft(found, user)) {
      await mustExec(this.run, 'groupdel', ['--', user]);
    } else if (found.length) {
      const primary = leftoverPrivateGroup(user, uid, files)
        ? ['--gid', String(uid)]
        : files.group.some((g) => g.name === user) ? ['--gid', this.config.localMarkerGroup] : ['--user-group'];
      const uidFree = uid !== null && !files.passwd.some((p) => p.uid === uid);
      await mustExec(this.run, this.config.useraddProgram, ['--system', '--no-create-home', '--no-log-init', ...(uidFree ? ['--uid', String(uid)] : []), ...primary, '--', user]);
      // No --force: it would also take a group that is another account's primary.
      await mustExec(this.run, this.config.userdelProgram, ['--', user]);
    }
    for (const m of this.userdbMembershipFiles().filter((m) => m.startsWith(`${user}:`))) {
      try { unlinkSync(join(this.config.userdbDir, `${m}.membership`)); } catch { /* already gone */ }
      found.push(`userdb membership ${m}`);
    }
    return found;
  }

  async addMember(user: string, group: string, via: 'usermod' | 'userdb'): Promise<void> {
    if (via === 'userdb') {
      mkdirSync(this.config.userdbDir, { recursive: true, mode: 0o755 });
      // nss-systemd takes the names from the file name; the content must be a JSON object: an
      // empty file is a mask to systemd before 258, and no membership.
      writeFileAtomic(join(this.config.userdbDir, `${user}:${group}.membership`), '{}\n', 0o644);
      return;
    }
    await mustExec(this.run, 'gpasswd', ['--add', user, group]);
  }

  async removeMember(user: string, group: string, via: 'usermod' | 'userdb'): Promise<void> {
    if (via === 'userdb') {
      try { unlinkSync(join(this.config.userdbDir, `${user}:${group}.membership`)); } catch { /* already gone */ }
      return;
    }
    await mustExec(this.run, 'gpasswd', ['--delete', user, group]);
  }

  /**
   * Renames an adopted account to iam-ssh's form of its name (ADOPTED_NAMES), with the private
   * group aws-ec2-ssh's `useradd --user-group` gave it and its userdb drop-ins. usermod keeps the
   * UID, the memberships and every file; it refuses while the account has processes (then the next
   * run tries again). The home moves only when asked, and only from `<dir>/<name>` to `<dir>/<new name>`.
   */
  async renameUser(user: string, to: string, moveHome: boolean): Promise<void> {
    const files = readAccountFiles();
    const p = files.passwd.find((e) => e.name === user);
    if (!p) throw new Error(`${user} does not exist`);
    const args = ['--login', to];
    if (moveHome) {
      if (!p.home.startsWith('/') || basename(p.home) !== user) throw new Error(`the home ${p.home} of ${user} is not named after it: not renamed, so that the home is not moved elsewhere`);
      const home = join(dirname(p.home), to);
      if (existsSync(home)) throw new Error(`${home} exists: ${user} is not renamed`);
      args.push('--home', home, '--move-home');
    }
    await mustExec(this.run, 'usermod', [...args, '--', user]);
    if (files.group.some((g) => g.name === user && g.gid === p.gid) && !files.group.some((g) => g.name === to)) {
      await mustExec(this.run, 'groupmod', ['--new-name', to, '--', user]);
    }
    for (const m of this.userdbMembershipFiles().filter((m) => m.startsWith(`${user}:`))) {
      const dir = this.config.userdbDir;
      renameSync(join(dir, `${m}.membership`), join(dir, `${to}:${m.slice(user.length + 1)}.membership`));
    }
  }

  /** aws-ec2-ssh's sudoers file of `user`, once iam-ssh's rule stands in for it (legacy-sudoers.ts). */
  async removeLegacySudoers(user: string, file: string, content: string, grant: string | null): Promise<void> {
    await removeLegacySudoers(user, file, content, grant, {
      isMember: async (u, g) => {
        const r = await this.run('getent', ['group', g]);
        const members = r.exitCode === 0 ? (r.stdout.trim().split(':')[3] ?? '').split(',') : [];
        return members.includes(u) || this.userdbMemberships().includes(`${u}:${g}`);
      },
      dropIn: () => readSudoers(this.config.sudoersFile),
    }, this.run);
  }

  /**
   * Locks the account first so that no new login starts, ends its processes, then deletes it.
   * If userdel still fails, the account stays locked and in the marker group, so the next run
   * retries instead of leaving it half-removed and forgotten.
   */
  async removeUser(user: string, keepHome: boolean): Promise<void> {
    await mustExec(this.run, 'usermod', ['--lock', '--expiredate', '1', '--', user]);
    const kill = () => this.run('pkill', ['--signal', 'KILL', '--uid', user]);
    await kill();
    const args = [...this.config.userdelArgs, ...(keepHome ? [] : ['--remove']), '--', user];
    let r = await this.run(this.config.userdelProgram, args);
    if (r.exitCode !== 0) {
      await kill();
      await new Promise((res) => setTimeout(res, 500));
      r = await this.run(this.config.userdelProgram, args);
    }
    // userdel exit 12: the account is gone but the home or mail spool could not be removed.
    if (r.exitCode !== 0 && r.exitCode !== 12) throw new Error(`userdel ${user} exited ${r.exitCode}: ${r.stderr.trim()}`);
    for (const m of this.userdbMembershipFiles().filter((m) => m.startsWith(`${user}:`))) {
      try { unlinkSync(join(this.config.userdbDir, `${m}.membership`)); } catch { /* already gone */ }
    }
  }
}

/** The account files as shadow-utils writes them: only accounts made by useradd are ever repaired. */
function readAccountFiles(): AccountFiles {
  const maybe = (path: string) => (existsSync(path) ? safeRead(path) : null);
  return parseAccountFiles({ passwd: safeRead('/etc/passwd'), group: safeRead('/etc/group'), shadow: maybe('/etc/shadow'), gshadow: maybe('/etc/gshadow') });
}

function safeRead(path: string): string {
  try {
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  } catch {
    return '';
  }
}
