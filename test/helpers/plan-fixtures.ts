/** Builders for the sync planner's inputs, and small readers of its output. */
import {
  plan, sudoersText,
  type Action, type IamSnapshot, type LocalSnapshot, type Notice, type Plan, type PlanSettings, type RegistryEntry,
} from '../../src/sync/plan';

export const MARKER = 'iam-synced-users';
export const SUDO = 'iam-ssh-sudo';
export const UID_MIN = 200_000;
export const UID_MAX = 2_147_483_647;

export function settings(over: Partial<PlanSettings> = {}): PlanSettings {
  return {
    authorizedGroups: ['devs'],
    sudoersGroups: ['admins'],
    markerGroup: MARKER,
    localGroups: [],
    groupMap: {},
    sudoLocalGroup: SUDO,
    sudoRule: 'ALL=(ALL) NOPASSWD:ALL',
    uidMode: 'hash',
    uidMin: UID_MIN,
    uidMax: UID_MAX,
    maxRemovals: 10,
    removeHome: false,
    ...over,
  };
}

/** The IAM UserId the fixtures give an IAM user name. */
export const idOf = (iamName: string) => `AIDA${iamName.toUpperCase().replace(/[^A-Z0-9]/g, 'X')}ID`;

/**
 * An IAM snapshot: every name in `groups` is authorized (a user listed only in a non-authorized
 * group, e.g. `admins`, is not), plus `extra` authorized users in no group.
 */
export function iam(groups: Record<string, string[]>, opts: { failed?: string[]; ids?: Record<string, string>; authorized?: string[]; extra?: string[] } = {}): IamSnapshot {
  const authorized = opts.authorized ?? ['devs'];
  const names = new Set<string>(opts.extra ?? []);
  for (const g of authorized) for (const n of groups[g] ?? []) names.add(n);
  return {
    users: [...names].map((userName) => ({ userName, userId: opts.ids?.[userName] ?? idOf(userName) })),
    groupMembers: groups,
    failed: opts.failed ?? [],
  };
}

export interface GroupSpec { gid?: number; members?: string[]; base?: boolean }
export interface LocalSpec {
  /** name -> uid */
  users?: Record<string, number>;
  groups?: Record<string, GroupSpec>;
  userdb?: string[];
  registry?: Record<string, Partial<RegistryEntry>>;
  sudoers?: string | null;
  /** aws-ec2-ssh's per-user files in /etc/sudoers.d: file name -> content. */
  legacySudoers?: Record<string, string>;
}

let nextGid = 300;
/** A local snapshot exactly as described: nothing implied. */
export function local(spec: LocalSpec = {}): LocalSnapshot {
  const groups: LocalSnapshot['groups'] = {};
  for (const [name, g] of Object.entries(spec.groups ?? {})) groups[name] = { name, gid: g.gid ?? nextGid++, members: g.members ?? [], base: g.base ?? false };
  const registry: LocalSnapshot['registry'] = {};
  for (const [name, r] of Object.entries(spec.registry ?? {})) {
    registry[name] = {
      iamName: r.iamName ?? name, iamUserId: r.iamUserId ?? idOf(r.iamName ?? name), uid: r.uid === undefined ? spec.users?.[name] ?? null : r.uid,
      ...(r.adopted ? { adopted: true as const } : {}),
    };
  }
  return {
    users: Object.fromEntries(Object.entries(spec.users ?? {}).map(([name, uid]) => [name, { name, uid }])),
    groups,
    userdbMemberships: spec.userdb ?? [],
    registry,
    sudoersContent: spec.sudoers === undefined ? null : spec.sudoers,
    legacySudoers: spec.legacySudoers ?? {},
  };
}

/**
 * A host that is already set up: marker and sudo groups exist, the sudoers drop-in is current,
 * and `managed` users (name -> uid) are accounts sync made: registered with their UID and members
 * of the marker group; `sudo` ones are members of the sudo group. `more` adds further users,
 * groups, registry entries, etc. (groups given there replace the defaults of the same name).
 * A marked account that nobody registered is aws-ec2-ssh's: see plan-legacy.test.ts.
 */
export function host(s: PlanSettings, managed: Record<string, number> = {}, sudo: string[] = [], more: LocalSpec = {}): LocalSnapshot {
  return local({
    ...more,
    registry: { ...Object.fromEntries(Object.keys(managed).map((n) => [n, {}])), ...more.registry },
    users: { ...managed, ...more.users },
    groups: {
      [s.markerGroup]: { gid: 150, members: Object.keys(managed) },
      [s.sudoLocalGroup]: { gid: 151, members: sudo },
      ...more.groups,
    },
    sudoers: more.sudoers === undefined ? sudoersText(s) : more.sudoers,
  });
}

export function run(i: IamSnapshot, l: LocalSnapshot, s: PlanSettings, force = false): Plan {
  return plan(i, l, s, force);
}

type Of<K extends Action['kind']> = Extract<Action, { kind: K }>;
export function actionsOf<K extends Action['kind']>(p: Plan, kind: K): Of<K>[] {
  return p.actions.filter((a): a is Of<K> => a.kind === kind);
}
/** Compact `kind user group` lines, order kept: easy to compare as a whole. */
export function lines(p: Plan): string[] {
  return p.actions.map((a) => {
    switch (a.kind) {
      case 'create-group': return `create-group ${a.group}`;
      case 'create-user': return `create-user ${a.user} uid=${a.uid === null ? 'auto' : 'hash'} [${a.groups.join(',')}]`;
      case 'add-member': return `add-member ${a.user} ${a.group} ${a.via}`;
      case 'remove-member': return `remove-member ${a.user} ${a.group} ${a.via}`;
      case 'write-sudoers': return 'write-sudoers';
      case 'remove-user': return `remove-user ${a.user} keepHome=${a.keepHome}`;
      case 'adopt-user': return `adopt-user ${a.user} uid=${a.uid}`;
      case 'rename-user': return `rename-user ${a.user} -> ${a.to}${a.moveHome ? ' moveHome' : ''}`;
      case 'remove-legacy-sudoers': return `remove-legacy-sudoers ${a.user} ${JSON.stringify(a.file)} grant=${a.grant ?? '-'}`;
    }
  });
}
export function codes(p: Plan): string[] {
  return p.notices.map((n) => n.code);
}
export function noticesOf(p: Plan, code: string): Notice[] {
  return p.notices.filter((n) => n.code === code);
}
export function createUser(p: Plan, user: string): Of<'create-user'> {
  const hits = actionsOf(p, 'create-user').filter((a) => a.user === user);
  if (hits.length !== 1) throw new Error(`expected one create-user for ${user}, got ${hits.length}: ${lines(p).join('; ')}`);
  return hits[0]!;
}
/** Every local user name an action touches. */
export function touched(p: Plan): string[] {
  return p.actions.flatMap((a) => ('user' in a ? [a.user] : []));
}
