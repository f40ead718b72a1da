/** Planner: safety properties over random IAM snapshots, hosts and settings. */
import fc from 'fast-check';
import { plan, sudoersText, type Action, type IamSnapshot, type LocalSnapshot, type PlanSettings, type Plan } from '../../../src/sync/plan';
import { isLegacyLocalName, mapIamNames, toLegacyName, toLocalName } from '../../../src/sync/names';
import { idOf, MARKER, SUDO } from '../../helpers/plan-fixtures';

// `constructor` checks that names shared with Object.prototype are nothing special;
// `Docker` and `wheel` map onto local group names
const POOL = ['alice', 'Bob', 'bob', 'carol', 'Dave', 'frank', 'Gina', 'x'.repeat(33), '1eve', 'Constructor', 'Docker', 'wheel'];
const IAM_GROUPS = ['devs', 'admins', 'ops', 'sre'];
// `Gina`, `Bob` and `1eve`: accounts aws-ec2-ssh named after IAM users, case kept
const LOCAL_NAMES = ['alice', 'bob', 'carol', 'dave', 'frank', 'gina', 'ec2', 'svc', 'constructor', 'Gina', 'Bob', '1eve'];
const LOCAL_GROUPS = [MARKER, SUDO, 'adm', 'docker', 'wheel'];
const UIDS = [0, 999, 1000, 1001, 1003, 1500, 199_999, 200_000, 200_002, 200_005, 250_000, 300_000];
const PAIRS = LOCAL_NAMES.flatMap((u) => LOCAL_GROUPS.map((g) => `${u}:${g}`));

const iamArb = (failed: fc.Arbitrary<string[]>): fc.Arbitrary<IamSnapshot> =>
  fc
    .record({
      users: fc.subarray(POOL),
      recreated: fc.subarray(POOL),
      groups: fc.tuple(...IAM_GROUPS.map(() => fc.option(fc.subarray(POOL)))),
      failed,
    })
    .map(({ users, recreated, groups, failed }) => ({
      users: users.map((userName) => ({ userName, userId: idOf(userName) + (recreated.includes(userName) ? 'NEW' : '') })),
      groupMembers: Object.fromEntries(IAM_GROUPS.flatMap((g, i) => (groups[i] ? [[g, groups[i]]] : []))),
      failed,
    }));

const settingsArb: fc.Arbitrary<PlanSettings> = fc
  .record({
    sudoersGroups: fc.oneof(fc.constant(null), fc.constant('all' as const), fc.subarray(IAM_GROUPS)),
    localGroups: fc.subarray(['docker', 'wheel', 'missing']),
    groupMap: fc.record({ ops: fc.subarray(['adm', 'wheel', 'missing2']), sre: fc.subarray(['adm', 'docker']) }, { requiredKeys: [] }),
    uidMode: fc.constantFrom('hash' as const, 'auto' as const),
    authorizedGroups: fc.constantFrom<string[]>(['devs'], ['devs', 'ops'], []),
    // 250000: raised above accounts created with the defaults
    uidMin: fc.constantFrom(1000, 200_000, 250_000),
    wide: fc.boolean(),
    maxRemovals: fc.nat(4),
    removeHome: fc.boolean(),
    adoptedNames: fc.constantFrom('keep' as const, 'rename' as const, 'rename-home' as const),
    userdelArgsRemove: fc.boolean(),
  })
  .map(({ wide, groupMap, ...r }) => ({
    ...r,
    groupMap: groupMap as Record<string, string[]>,
    uidMax: wide ? 2_147_483_647 : r.uidMin + 5,
    markerGroup: MARKER,
    sudoLocalGroup: SUDO,
    sudoRule: 'ALL=(ALL) NOPASSWD:ALL',
  }));

const localArb = (s: PlanSettings): fc.Arbitrary<LocalSnapshot> =>
  fc
    .record({
      uids: fc.tuple(...LOCAL_NAMES.map(() => fc.option(fc.constantFrom(...UIDS)))),
      groups: fc.tuple(...LOCAL_GROUPS.map(() => fc.option(fc.record({ gid: fc.constantFrom(...UIDS), members: fc.subarray(LOCAL_NAMES), base: fc.boolean() })))),
      userdb: fc.subarray(PAIRS),
      registry: fc.tuple(
        ...LOCAL_NAMES.map(() =>
          fc.option(fc.record({ iamName: fc.constantFrom(...POOL), recreated: fc.boolean(), uid: fc.option(fc.constantFrom(...UIDS)), sameUid: fc.boolean(), adopted: fc.boolean() })),
        ),
      ),
      sudoers: fc.constantFrom(null, 'stale', 'current'),
      // aws-ec2-ssh's per-user files: its exact rule, or another one
      legacySudoers: fc.tuple(...LOCAL_NAMES.map(() => fc.option(fc.constantFrom('rule', 'other')))),
    })
    .map(({ uids, groups, userdb, registry, sudoers, legacySudoers }) => {
      const l: LocalSnapshot = { users: {}, groups: {}, userdbMemberships: userdb, registry: {}, sudoersContent: sudoers === 'current' ? sudoersText(s) : sudoers, legacySudoers: {} };
      LOCAL_NAMES.forEach((name, i) => {
        const uid = uids[i];
        if (uid !== null && uid !== undefined) l.users[name] = { name, uid };
        const r = registry[i];
        if (r) {
          const regUid = r.sameUid && uid !== null && uid !== undefined ? uid : (r.uid ?? null);
          l.registry[name] = { iamName: r.iamName, iamUserId: idOf(r.iamName) + (r.recreated ? 'OLD' : ''), uid: regUid, ...(r.adopted ? { adopted: true as const } : {}) };
        }
        const f = legacySudoers[i];
        if (f) l.legacySudoers![name.replace(/\./g, ' ')] = f === 'rule' ? `${name} ALL=(ALL) NOPASSWD:ALL\n` : `${name} ALL=(ALL) ALL\n`;
      });
      LOCAL_GROUPS.forEach((name, i) => {
        const g = groups[i];
        if (g) l.groups[name] = { name, ...g };
      });
      return l;
    });

const world = (failed: fc.Arbitrary<string[]>) =>
  settingsArb.chain((s) => fc.record({ s: fc.constant(s), iam: iamArb(failed), local: localArb(s), force: fc.boolean() }));
// 'notify' stands for a group read only for NOTIFY_GROUPS
const anyFailed = fc.subarray([...IAM_GROUPS, 'ListUsers', 'notify']);
const RUNS = { numRuns: 400 };

/**
 * Managed, by the rule written out here: created or adopted before (registry entry with the
 * account's UID, never 0) whatever UID_MIN is; adopted by this plan (checked on its own below);
 * else at or above UID_MIN, and marked or registered without a UID.
 */
function isManaged(l: LocalSnapshot, s: PlanSettings, name: string, p: Plan): boolean {
  if (adoptedBy(p).has(name)) return true;
  const u = Object.hasOwn(l.users, name) ? l.users[name] : undefined;
  const reg = Object.hasOwn(l.registry, name) ? l.registry[name] : undefined;
  if (u && u.uid > 0 && reg?.uid === u.uid) return true;
  if (!u || u.uid < s.uidMin) return false;
  const marked = (l.groups[s.markerGroup]?.members.includes(name) ?? false) || l.userdbMemberships.includes(`${name}:${s.markerGroup}`);
  return marked || reg?.uid === null;
}

const adoptedBy = (p: Plan) => new Set(p.actions.flatMap((a) => (a.kind === 'adopt-user' ? [a.user] : [])));
const marked = (l: LocalSnapshot, s: PlanSettings, name: string) =>
  (l.groups[s.markerGroup]?.members.includes(name) ?? false) || l.userdbMemberships.includes(`${name}:${s.markerGroup}`);
/** Adopted now or before: its UID came with it. */
const isAdopted = (l: LocalSnapshot, name: string, p: Plan) =>
  adoptedBy(p).has(name) || (Object.hasOwn(l.registry, name) && l.registry[name]!.adopted === true && l.registry[name]!.uid === l.users[name]?.uid);
/** The IAM users that map to one local name without a collision. */
function usable(iam: IamSnapshot): string[] {
  const names = mapIamNames(iam.users.map((u) => u.userName));
  const bad = new Set(names.skipped.filter((k) => k.reason === 'collision' || k.reason === 'not-iam-name').map((k) => k.iamName));
  return iam.users.map((u) => u.userName).filter((n) => !bad.has(n));
}

/** The reads that decide who may log in. */
const accessReads = (s: PlanSettings) => (s.authorizedGroups.length > 0 ? s.authorizedGroups : ['ListUsers']);
/** The IAM reads that grant membership of a local group, written out independently of plan-reads.ts. */
function grantsOf(s: PlanSettings, localGroup: string): string[] {
  const out: string[] = [];
  if (s.sudoersGroups !== null && localGroup === s.sudoLocalGroup) out.push(...(s.sudoersGroups === 'all' ? accessReads(s) : s.sudoersGroups));
  for (const [iamGroup, locals] of Object.entries(s.groupMap)) if (locals.includes(localGroup)) out.push(iamGroup);
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

describe('plan: properties', () => {
  test('an incomplete read of the authorized groups never removes anyone, whatever force says', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const p = plan(iam, local, s, force);
        const accessFailed = accessReads(s).some((g) => iam.failed.includes(g));
        expect(p.accessComplete).toBe(!accessFailed);
        expect(p.complete).toBe(iam.failed.length === 0);
        expect(p.notices.filter((n) => n.code === 'iam_read_failed')).toHaveLength(iam.failed.length);
        if (accessFailed) expect(p.actions.filter((a) => a.kind === 'remove-user')).toEqual([]);
      }),
      RUNS,
    );
  });

  test('a membership is revoked only when every IAM group that grants it was read', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        for (const a of plan(iam, local, s, force).actions) {
          if (a.kind === 'remove-member') expect(grantsOf(s, a.group).filter((g) => iam.failed.includes(g))).toEqual([]);
        }
      }),
      RUNS,
    );
  });

  test('a failed read withholds only what depends on it: every other action is that of the same snapshot read completely', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const partial = plan(iam, local, s, force);
        const whole = plan({ ...iam, failed: [] }, local, s, force);
        const accessFailed = accessReads(s).some((g) => iam.failed.includes(g));
        const leaving = new Set(whole.actions.flatMap((a) => (a.kind === 'remove-user' ? [a.user] : [])));
        const dependsOnFailed = (a: Action) =>
          (a.kind === 'remove-user' && accessFailed) || (a.kind === 'remove-member' && grantsOf(s, a.group).some((g) => iam.failed.includes(g)))
          // aws-ec2-ssh's sudoers file: of a removed account, or of one IAM no longer gives sudo
          || (a.kind === 'remove-legacy-sudoers' && a.grant === null && (leaving.has(a.user) ? accessFailed : grantsOf(s, s.sudoLocalGroup).some((g) => iam.failed.includes(g))));
        expect(partial.actions).toEqual(whole.actions.filter((a) => !dependsOnFailed(a)));
        expect(partial.desired).toEqual(whole.desired);
        expect(partial.removalsWithheld).toBe(whole.removalsWithheld || whole.actions.some(dependsOnFailed));
      }),
      RUNS,
    );
  });

  test('revocation never stops silently: with force and a complete read, every managed account IAM no longer maps to is removed, whatever UID_MIN', () => {
    fc.assert(
      fc.property(world(fc.constant([])), ({ s, iam, local }) => {
        const p = plan(iam, local, s, true);
        const names = mapIamNames(iam.users.map((u) => u.userName));
        const collided = new Set(names.skipped.filter((k) => k.reason === 'collision').map((k) => k.localName));
        // aws-ec2-ssh's name of an authorized IAM user (case kept) counts as mapped too
        const legacy = new Set(usable(iam).map(toLegacyName));
        const expected = Object.keys(local.users).filter((n) => isManaged(local, s, n, p) && !names.byLocal.has(n) && !legacy.has(n) && !collided.has(n)).sort();
        expect(p.actions.flatMap((a) => (a.kind === 'remove-user' ? [a.user] : []))).toEqual(expected);
      }),
      RUNS,
    );
  });

  test('a managed account outside UID_MIN..UID_MAX is never given more, and is named in an error unless removed', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const p = plan(iam, local, s, force);
        const removed = new Set(p.actions.flatMap((a) => (a.kind === 'remove-user' ? [a.user] : [])));
        const outside = Object.keys(local.users).filter((n) => isManaged(local, s, n, p) && !isAdopted(local, n, p) && (local.users[n]!.uid < s.uidMin || local.users[n]!.uid > s.uidMax)).sort();
        for (const a of p.actions) if (a.kind === 'add-member') expect(outside).not.toContain(a.user);
        expect(p.stranded).toEqual(outside.filter((n) => !removed.has(n)));
        expect(p.notices.filter((n) => n.code === 'uid_out_of_range').map((n) => [n.level, n.user])).toEqual(p.stranded.map((n) => ['error', n]));
      }),
      RUNS,
    );
  });

  test('create-user never names a local group, nor one the plan creates', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const p = plan(iam, local, s, force);
        const groups = new Set([...Object.keys(local.groups), ...p.actions.flatMap((a) => (a.kind === 'create-group' ? [a.group] : []))]);
        for (const a of p.actions) if (a.kind === 'create-user') expect(groups.has(a.user)).toBe(false);
        for (const n of p.notices) if (n.code === 'name_is_group') expect(groups.has(n.user!)).toBe(true);
      }),
      RUNS,
    );
  });

  test('no action names an existing account that is unmanaged; create-user only names new accounts', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const p = plan(iam, local, s, force);
        const created = new Set(p.actions.flatMap((a) => (a.kind === 'create-user' ? [a.user] : [])));
        for (const a of p.actions) {
          if (!('user' in a)) continue;
          const exists = Object.hasOwn(local.users, a.user);
          if (a.kind === 'create-user') expect(exists).toBe(false);
          else if (exists) expect(isManaged(local, s, a.user, p)).toBe(true);
          else expect((a.kind === 'add-member' || a.kind === 'remove-legacy-sudoers') && created.has(a.user)).toBe(true);
        }
        const renamedTo = new Set(p.actions.flatMap((a) => (a.kind === 'rename-user' ? [a.to] : [])));
        for (const d of p.desired) if (Object.hasOwn(local.users, d.localName)) expect(isManaged(local, s, d.localName, p)).toBe(true);
        for (const d of p.desired) if (renamedTo.has(d.localName)) expect(Object.hasOwn(local.users, d.localName)).toBe(false);
      }),
      RUNS,
    );
  });

  test("adoption takes only aws-ec2-ssh's account of an authorized IAM user, as it is: marked, unregistered, not uid 0, named from the IAM name", () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const p = plan(iam, local, s, force);
        const byIam = new Map<string, string>();
        for (const a of p.actions) {
          if (a.kind !== 'adopt-user') continue;
          const u = local.users[a.user]!;
          expect(u.uid).toBe(a.uid);
          expect(a.uid).toBeGreaterThan(0);
          expect(Object.hasOwn(local.registry, a.user)).toBe(false);
          expect(marked(local, s, a.user)).toBe(true);
          expect(usable(iam)).toContain(a.iamName);
          expect([toLegacyName(a.iamName), toLocalName(a.iamName)]).toContain(a.user);
          if (a.user !== toLocalName(a.iamName)) expect(isLegacyLocalName(a.user)).toBe(true);
          expect(byIam.has(a.iamName)).toBe(false);
          byIam.set(a.iamName, a.user);
          // a rename only with ADOPTED_NAMES, only to the mapped name, never onto an existing account
        }
        for (const a of p.actions) {
          if (a.kind !== 'rename-user') continue;
          expect(s.adoptedNames).not.toBe('keep');
          expect(a.moveHome).toBe(s.adoptedNames === 'rename-home');
          expect(a.to).toBe(toLocalName(a.iamName));
          expect(Object.hasOwn(local.users, a.to) || Object.hasOwn(local.groups, a.to)).toBe(false);
          expect(isAdopted(local, a.user, p)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  test("aws-ec2-ssh's sudoers file goes only when exact, of a managed account, and only once iam-ssh's rule or IAM's answer stands in for it", () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const p = plan(iam, local, s, force);
        const removed = new Set(p.actions.flatMap((a) => (a.kind === 'remove-user' ? [a.user] : [])));
        const added = new Set(p.actions.flatMap((a) => ((a.kind === 'add-member' && a.group === s.sudoLocalGroup) || (a.kind === 'create-user' && a.groups.includes(s.sudoLocalGroup)) ? [a.user] : [])));
        const sudoRead = grantsOf(s, s.sudoLocalGroup).every((g) => !iam.failed.includes(g));
        const created = new Set(p.actions.flatMap((a) => (a.kind === 'create-user' ? [a.user] : [])));
        p.actions.forEach((a, i) => {
          if (a.kind !== 'remove-legacy-sudoers') return;
          // with sudo not managed, only the file of an account that goes
          if (!removed.has(a.user)) expect(s.sudoersGroups).not.toBeNull();
          expect(isManaged(local, s, a.user, p) || created.has(a.user)).toBe(true);
          expect(a.file).toBe(`/etc/sudoers.d/${a.user.replace(/\./g, ' ')}`);
          expect(local.legacySudoers![a.user.replace(/\./g, ' ')]).toBe(`${a.user} ALL=(ALL) NOPASSWD:ALL\n`);
          expect(a.content).toBe(`${a.user} ALL=(ALL) NOPASSWD:ALL\n`);
          if (a.grant !== null) {
            expect(a.grant).toBe(s.sudoLocalGroup);
            const member = (local.groups[s.sudoLocalGroup]?.members.includes(a.user) ?? false) || local.userdbMemberships.includes(`${a.user}:${s.sudoLocalGroup}`);
            expect(member || added.has(a.user)).toBe(true);
            // after every action that gives sudo the new way
            expect(p.actions.slice(i).some((b) => b.kind === 'write-sudoers' || b.kind === 'create-group' || ((b.kind === 'add-member' || b.kind === 'create-user') && b.user === a.user))).toBe(false);
          } else expect(removed.has(a.user) || sudoRead).toBe(true);
        });
      }),
      RUNS,
    );
  });

  test('new UIDs are distinct and free; desired names are unique', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const p = plan(iam, local, s, force);
        const taken = new Set([...Object.values(local.users).map((u) => u.uid), ...Object.values(local.groups).map((g) => g.gid)]);
        const uids = p.actions.flatMap((a) => (a.kind === 'create-user' && a.uid !== null ? [a.uid] : []));
        expect(new Set(uids).size).toBe(uids.length);
        for (const u of uids) expect(taken.has(u)).toBe(false);
        if (s.uidMode === 'auto') expect(p.actions.every((a) => a.kind !== 'create-user' || a.uid === null)).toBe(true);
        expect(new Set(p.desired.map((d) => d.localName)).size).toBe(p.desired.length);
      }),
      RUNS,
    );
  });

  test('without force, removals stay within MAX_REMOVALS and never empty the host', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local }) => {
        const p = plan(iam, local, s, false);
        const removed = p.actions.filter((a) => a.kind === 'remove-user');
        expect(removed.length).toBeLessThanOrEqual(s.maxRemovals);
        if (removed.length > 0 && p.desired.length === 0) expect(p.notices.some((n) => n.code === 'removal_skipped_collision')).toBe(true);
        for (const r of removed) expect(p.desired.map((d) => d.localName)).not.toContain(r.user);
      }),
      RUNS,
    );
  });

  test('deterministic, and the inputs are neither mutated nor needed mutable', () => {
    fc.assert(
      fc.property(world(anyFailed), ({ s, iam, local, force }) => {
        const before = structuredClone({ s, iam, local });
        const first: Plan = plan(iam, local, s, force);
        expect({ s, iam, local }).toEqual(before);
        const again = plan(structuredClone(iam), structuredClone(local), structuredClone(s), force);
        expect(again).toEqual(first);
        const frozen = deepFreeze(structuredClone(before));
        expect(plan(frozen.iam, frozen.local, frozen.s, force)).toEqual(first);
      }),
      RUNS,
    );
  });
});
