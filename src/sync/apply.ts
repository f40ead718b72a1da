/**
 * Applies a plan, one action at a time: each applied change is one log line; a failing change
 * is reported and the others go on. The accounts, the registry, sudoers and the keys cache come
 * in as ports, so that the order and the recovery rules can be tested with fakes.
 *
 * Before the plan's actions, what a run killed part-way left is set right, so that a run after a
 * kill -9 ends where an uninterrupted run would have.
 */
import type { Logger } from '../util/log';
import { errText } from '../util/log';
import type { AccountsSnapshot } from './accounts';
import type { Action, DesiredUser, Plan, RegistryEntry, Via } from './plan';

export interface AccountsPort {
  snapshot(): Promise<Pick<AccountsSnapshot, 'users'>>;
  createGroup(group: string): Promise<void>;
  createUser(user: string, iamName: string, uid: number | null, groups: string[]): Promise<void>;
  addMember(user: string, group: string, via: Via): Promise<void>;
  removeMember(user: string, group: string, via: Via): Promise<void>;
  removeUser(user: string, keepHome: boolean): Promise<void>;
  /** What keeps an existing account from being what useradd makes (empty when nothing does). */
  unfinished(user: string): Promise<string[]>;
  /** Deletes an unfinished account (never its home's content) and creates it again, in the groups it was in. */
  recreateUser(user: string, iamName: string, uid: number): Promise<void>;
  /** Removes what is left of an account that no longer exists (shadow entry, memberships, private group); returns what it found. */
  clearLeftovers(user: string, uid: number | null): Promise<string[]>;
  /** Renames an adopted account (and its private group); its home moves only with moveHome. */
  renameUser(user: string, to: string, moveHome: boolean): Promise<void>;
  /**
   * Deletes aws-ec2-ssh's sudoers file of `user` if it still holds `content`, once `grant` (when
   * given) gives the user sudo through iam-ssh's rule and the whole sudoers configuration checks.
   */
  removeLegacySudoers(user: string, file: string, content: string, grant: string | null): Promise<void>;
}

export interface RegistryPort {
  all(): Record<string, RegistryEntry>;
  /** Accounts whose creation began in a run that did not settle it. */
  creating(): string[];
  /** Records an account about to be created, as one being created. */
  begin(name: string, entry: RegistryEntry): void;
  /** These accounts are complete. */
  settle(names: Iterable<string>): void;
  set(name: string, entry: RegistryEntry): void;
  delete(name: string): void;
}

export interface ApplyDeps {
  accounts: AccountsPort;
  registry: RegistryPort;
  writeSudoers(content: string): Promise<void>;
  /** Drops a removed user's keys cache entry. */
  forgetKeys(user: string): void;
}

export interface ApplyResult {
  failures: number;
  /** Users whose create-user action succeeded. */
  created: Set<string>;
  /** Adopted accounts renamed by this run, by their old name. */
  renamed: Set<string>;
}

export async function applyPlan(plan: Plan, deps: ApplyDeps, log: Logger): Promise<ApplyResult> {
  let failures = await recoverInterrupted(plan, deps, log);
  const created = new Set<string>();
  const renamed = new Set<string>();
  const complete: string[] = [];
  /** What failed in this run, for the changes that depend on it. */
  const failed = new Set<string>();
  for (const action of plan.actions) {
    try {
      const settled = await applyAction(action, deps, { failed, renamed });
      if (action.kind === 'create-user') created.add(action.user);
      if (settled && action.kind === 'create-user') complete.push(action.user);
      log.log('info', 'sync.change', describe(action));
    } catch (e) {
      failures++;
      failed.add(failureKey(action));
      log.log('error', 'sync.change_failed', { ...describe(action), error: errText(e) });
    }
  }
  // One registry write for the run; a run killed before it leaves them for the next to check.
  deps.registry.settle(complete);
  return { failures, created, renamed };
}

/**
 * What a killed run left, by registry entry: an account whose creation began is checked and, if
 * useradd was cut short, made again; a registered account that no longer exists (a useradd that
 * never committed, a userdel killed half-way) has its leftovers removed and, unless this run
 * creates it again, its entry dropped. Accounts this run removes are left to the removal.
 */
async function recoverInterrupted(plan: Plan, { accounts, registry, forgetKeys }: ApplyDeps, log: Logger): Promise<number> {
  const entries = registry.all();
  const names = Object.keys(entries).sort();
  if (names.length === 0) return 0;
  const creating = new Set(registry.creating());
  const planned = (kind: Action['kind']) => new Set(plan.actions.flatMap((a) => (a.kind === kind && 'user' in a ? [a.user] : [])));
  const toCreate = planned('create-user');
  const toRemove = planned('remove-user');
  const { users } = await accounts.snapshot();
  let failures = 0;
  for (const name of names) {
    const entry = entries[name]!;
    const account = Object.hasOwn(users, name) ? users[name] : undefined;
    if (account && (!creating.has(name) || toRemove.has(name))) continue;
    const fields = { user: name, iamName: entry.iamName };
    try {
      if (!account) {
        const found = await accounts.clearLeftovers(name, entry.uid);
        if (found.length) log.log('info', 'sync.change', { action: 'clear-leftovers', ...fields, found, reason: 'an interrupted run left these of an account that does not exist' });
        if (toCreate.has(name)) continue;
        registry.delete(name);
        forgetKeys(name);
        log.log('info', 'sync.change', { action: 'forget-account', ...fields, reason: 'the registered account does not exist' });
      } else if (entry.uid !== null && account.uid !== entry.uid) {
        // Someone else's account took the name: never record it as ours.
        registry.delete(name);
        log.log('warn', 'sync.change', { action: 'forget-account', ...fields, reason: `the account ${name} has uid ${account.uid}, not the registered ${entry.uid}` });
      } else {
        const unfinished = await accounts.unfinished(name);
        if (unfinished.length) {
          await accounts.recreateUser(name, entry.iamName, account.uid);
          log.log('info', 'sync.change', { action: 'finish-create', ...fields, uid: account.uid, unfinished, reason: 'a killed run left its creation unfinished' });
        }
        if (entry.uid === null) registry.set(name, { ...entry, uid: account.uid });
        registry.settle([name]);
      }
    } catch (e) {
      failures++;
      log.log('error', 'sync.change_failed', { action: account ? 'finish-create' : 'clear-leftovers', ...fields, error: errText(e) });
    }
  }
  return failures;
}

/** The users that exist here after the run: the plan's, less those whose creation failed, under the name each has. */
export function usersInPlace(plan: Plan, applied: Pick<ApplyResult, 'created' | 'renamed'>): DesiredUser[] {
  const failed = new Set(plan.actions.flatMap((a) => (a.kind === 'create-user' && !applied.created.has(a.user) ? [a.user] : [])));
  const notRenamed = new Map(plan.actions.flatMap((a) => (a.kind === 'rename-user' && !applied.renamed.has(a.user) ? [[a.to, a.user] as const] : [])));
  return plan.desired.filter((d) => !failed.has(d.localName)).map((d) => (notRenamed.has(d.localName) ? { ...d, localName: notRenamed.get(d.localName)! } : d));
}

/** How a failed action is remembered: what a later action of the run may depend on. */
function failureKey(a: Action): string {
  if (a.kind === 'write-sudoers') return a.kind;
  if (a.kind === 'add-member') return `${a.kind} ${a.user} ${a.group}`;
  return 'user' in a ? `${a.kind} ${a.user}` : a.kind;
}

/** Applies one action; true for a create-user whose useradd ran to its end (the account is complete). */
async function applyAction(
  a: Action, { accounts, registry, writeSudoers, forgetKeys }: ApplyDeps, { failed, renamed }: { failed: ReadonlySet<string>; renamed: Set<string> },
): Promise<boolean> {
  switch (a.kind) {
    case 'create-group':
      await accounts.createGroup(a.group);
      return false;
    case 'write-sudoers':
      await writeSudoers(a.content);
      return false;
    case 'create-user': {
      // Registered before useradd: a run killed in between still knows the account is ours.
      registry.begin(a.user, { iamName: a.iamName, iamUserId: a.iamUserId, uid: a.uid });
      try {
        await accounts.createUser(a.user, a.iamName, a.uid, a.groups);
      } catch (e) {
        const now = (await accounts.snapshot()).users[a.user];
        // A killed run's orphaned useradd may have finished the same account meanwhile: ours,
        // left as being created, so that the next run checks it is complete.
        if (now && a.uid !== null && now.uid === a.uid) return false;
        // No account, or someone else's (another UID; with UID_MODE=auto any UID proves nothing):
        // an entry kept here would make a later run manage, and maybe remove, a foreign account.
        registry.delete(a.user);
        throw e;
      }
      if (a.uid === null) {
        const uid = (await accounts.snapshot()).users[a.user]?.uid ?? null;
        registry.set(a.user, { iamName: a.iamName, iamUserId: a.iamUserId, uid });
      }
      return true;
    }
    case 'add-member':
      await accounts.addMember(a.user, a.group, a.via);
      return false;
    case 'remove-member':
      await accounts.removeMember(a.user, a.group, a.via);
      return false;
    case 'remove-user':
      await accounts.removeUser(a.user, a.keepHome);
      registry.delete(a.user);
      forgetKeys(a.user);
      return false;
    case 'adopt-user': {
      // Taken over as it is: only the account planned (same name, same UID) is ever recorded as ours.
      const { users } = await accounts.snapshot();
      const now = Object.hasOwn(users, a.user) ? users[a.user] : undefined;
      if (now?.uid !== a.uid) throw new Error(`${a.user} is no longer the account with uid ${a.uid}`);
      registry.set(a.user, { iamName: a.iamName, iamUserId: a.iamUserId, uid: a.uid, adopted: true });
      return false;
    }
    case 'rename-user': {
      const entry = Object.hasOwn(registry.all(), a.user) ? registry.all()[a.user] : undefined;
      if (entry?.uid !== a.uid || entry.adopted !== true) throw new Error(`${a.user} is not an adopted account with uid ${a.uid}`);
      // Both names are registered while the account changes its name: whichever name a run killed
      // here leaves it under is ours, and the next run drops the entry whose account is gone.
      registry.set(a.to, { ...entry, iamName: a.iamName, iamUserId: a.iamUserId });
      let error: unknown = null;
      try {
        await accounts.renameUser(a.user, a.to, a.moveHome);
      } catch (e) {
        error = e;
      }
      // A failure after usermod renamed the account (its group, its home) still leaves it under the new name.
      const { users } = await accounts.snapshot();
      const under = Object.hasOwn(users, a.to) && users[a.to]!.uid === a.uid ? a.to : a.user;
      registry.delete(under === a.to ? a.user : a.to);
      if (under === a.to) {
        renamed.add(a.user);
        forgetKeys(a.user);
      }
      if (error) throw error;
      return false;
    }
    case 'remove-legacy-sudoers': {
      // aws-ec2-ssh's grant goes only once iam-ssh's stands in for it: never after a failed step it rests on.
      const missing = [
        ...(failed.has(`adopt-user ${a.user}`) ? ['the adoption of the account'] : []),
        ...(a.grant !== null && failed.has('write-sudoers') ? ["iam-ssh's sudoers drop-in"] : []),
        ...(a.grant !== null && failed.has(`add-member ${a.user} ${a.grant}`) ? [`membership of ${a.grant}`] : []),
      ];
      if (missing.length) throw new Error(`${a.file} is kept: ${missing.join(' and ')} failed in this run`);
      await accounts.removeLegacySudoers(a.user, a.file, a.content, a.grant);
      return false;
    }
  }
}

/** The log fields of an action (a sudoers body is not logged: it is in the file). */
function describe(a: Action): Record<string, unknown> {
  const { kind, reason, ...rest } = a;
  const fields: Record<string, unknown> = { action: kind, reason, ...rest };
  if (a.kind === 'write-sudoers' || a.kind === 'remove-legacy-sudoers') delete fields.content;
  return fields;
}
