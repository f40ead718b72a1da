/**
 * Applies a plan, one action at a time: each applied change is one log line; a failing change
 * is reported and the others go on. The accounts, the registry, sudoers and the keys cache come
 * in as ports, so that the order and the recovery rules can be tested with fakes.
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
}

export interface ApplyDeps {
  accounts: AccountsPort;
  registry: { set(name: string, entry: RegistryEntry): void; delete(name: string): void };
  writeSudoers(content: string): Promise<void>;
  /** Drops a removed user's keys cache entry. */
  forgetKeys(user: string): void;
}

export interface ApplyResult {
  failures: number;
  /** Users whose create-user action succeeded. */
  created: Set<string>;
}

export async function applyPlan(plan: Plan, deps: ApplyDeps, log: Logger): Promise<ApplyResult> {
  let failures = 0;
  const created = new Set<string>();
  for (const action of plan.actions) {
    try {
      await applyAction(action, deps);
      if (action.kind === 'create-user') created.add(action.user);
      log.log('info', 'sync.change', describe(action));
    } catch (e) {
      failures++;
      log.log('error', 'sync.change_failed', { ...describe(action), error: errText(e) });
    }
  }
  return { failures, created };
}

/** The users that exist here after the run: the plan's, less those whose creation failed. */
export function usersInPlace(plan: Plan, created: ReadonlySet<string>): DesiredUser[] {
  const failed = new Set(plan.actions.flatMap((a) => (a.kind === 'create-user' && !created.has(a.user) ? [a.user] : [])));
  return plan.desired.filter((d) => !failed.has(d.localName));
}

async function applyAction(a: Action, { accounts, registry, writeSudoers, forgetKeys }: ApplyDeps): Promise<void> {
  switch (a.kind) {
    case 'create-group':
      return accounts.createGroup(a.group);
    case 'write-sudoers':
      return writeSudoers(a.content);
    case 'create-user': {
      // Registered before useradd: a run killed in between still knows the account is ours.
      registry.set(a.user, { iamName: a.iamName, iamUserId: a.iamUserId, uid: a.uid });
      try {
        await accounts.createUser(a.user, a.iamName, a.uid, a.groups);
      } catch (e) {
        const now = (await accounts.snapshot()).users[a.user];
        // A killed run's orphaned useradd may have finished the same account meanwhile: ours, done.
        if (now && a.uid !== null && now.uid === a.uid) return;
        // No account, or someone else's (another UID; with UID_MODE=auto any UID proves nothing):
        // an entry kept here would make a later run manage, and maybe remove, a foreign account.
        registry.delete(a.user);
        throw e;
      }
      if (a.uid === null) {
        const uid = (await accounts.snapshot()).users[a.user]?.uid ?? null;
        registry.set(a.user, { iamName: a.iamName, iamUserId: a.iamUserId, uid });
      }
      return;
    }
    case 'add-member':
      return accounts.addMember(a.user, a.group, a.via);
    case 'remove-member':
      return accounts.removeMember(a.user, a.group, a.via);
    case 'remove-user':
      await accounts.removeUser(a.user, a.keepHome);
      registry.delete(a.user);
      forgetKeys(a.user);
      return;
  }
}

/** The log fields of an action (a sudoers body is not logged: it is in the file). */
function describe(a: Action): Record<string, unknown> {
  const { kind, reason, ...rest } = a;
  const fields: Record<string, unknown> = { action: kind, reason, ...rest };
  if (a.kind === 'write-sudoers') delete fields.content;
  return fields;
}
