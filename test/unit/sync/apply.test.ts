/**
 * sync's apply step with fake ports: the order of effects, what one failure leaves behind,
 * and how the registry follows the accounts.
 */
import { applyPlan, usersInPlace, type AccountsPort, type ApplyDeps } from '../../../src/sync/apply';
import type { Action, Plan, RegistryEntry } from '../../../src/sync/plan';
import type { Level } from '../../../src/util/log';

interface FakeOpts {
  failCreate?: Set<string>;
  appearsAnyway?: Record<string, number>;
  /** What unfinished() reports, by user. */
  unfinished?: Record<string, string[]>;
  /** What clearLeftovers() finds, by user. */
  leftovers?: Record<string, string[]>;
  failRecreate?: Set<string>;
  /** renameUser throws: before changing anything, or after the account has its new name. */
  failRename?: 'before' | 'after';
}

function fakes(opts: FakeOpts = {}) {
  const effects: string[] = [];
  const users: Record<string, { uid: number }> = {};
  const registry = new Map<string, RegistryEntry>();
  const creating = new Set<string>();
  const snapshots = { n: 0 };
  const accounts: AccountsPort = {
    snapshot: async () => {
      snapshots.n++;
      return { users: Object.fromEntries(Object.entries(users).map(([n, u]) => [n, { name: n, uid: u.uid }])) };
    },
    createGroup: async (g) => void effects.push(`groupadd ${g}`),
    createUser: async (user, _iam, uid) => {
      effects.push(`useradd ${user}`);
      if (opts.failCreate?.has(user)) {
        if (opts.appearsAnyway?.[user] !== undefined) users[user] = { uid: opts.appearsAnyway[user]! };
        throw new Error('useradd: exit 10');
      }
      users[user] = { uid: uid ?? 1500 };
    },
    addMember: async (u, g) => void effects.push(`add ${u} ${g}`),
    removeMember: async (u, g) => void effects.push(`remove ${u} ${g}`),
    removeUser: async (u) => {
      effects.push(`userdel ${u}`);
      delete users[u];
    },
    unfinished: async (u) => {
      effects.push(`check ${u}`);
      return opts.unfinished?.[u] ?? [];
    },
    recreateUser: async (u, _iam, uid) => {
      effects.push(`recreate ${u} ${uid}`);
      if (opts.failRecreate?.has(u)) throw new Error('userdel: exit 8');
    },
    clearLeftovers: async (u) => {
      effects.push(`clear ${u}`);
      return opts.leftovers?.[u] ?? [];
    },
    renameUser: async (u, to, moveHome) => {
      effects.push(`rename ${u} ${to}${moveHome ? ' moving home' : ''}`);
      if (opts.failRename === 'before') throw new Error('usermod: user Alice.Smith is currently used by process 42');
      users[to] = users[u]!;
      delete users[u];
      if (opts.failRename === 'after') throw new Error('groupmod: exit 10');
    },
    removeLegacySudoers: async (u, file, _content, grant) => void effects.push(`rm ${file}${grant ? ` after ${grant}` : ''} (${u})`),
  };
  const deps: ApplyDeps = {
    accounts,
    registry: {
      all: () => Object.fromEntries(registry),
      creating: () => [...creating].sort(),
      begin: (n, e) => {
        registry.set(n, e);
        creating.add(n);
      },
      settle: (names) => {
        for (const n of names) creating.delete(n);
      },
      set: (n, e) => void registry.set(n, e),
      delete: (n) => {
        registry.delete(n);
        creating.delete(n);
      },
    },
    writeSudoers: async () => void effects.push('sudoers'),
    forgetKeys: (u) => void effects.push(`forget ${u}`),
  };
  const events: { level: Level; event: string; fields: Record<string, unknown> }[] = [];
  const log = { log: (level: Level, event: string, fields: Record<string, unknown> = {}) => void events.push({ level, event, fields }) };
  return { effects, users, registry, creating, snapshots, deps, events, log };
}

const plan = (actions: Action[]): Plan => ({
  actions,
  notices: [],
  complete: true,
  accessComplete: true,
  removalsWithheld: false,
  stranded: [],
  desired: actions.flatMap((a) => (a.kind === 'create-user' ? [{ iamName: a.iamName, iamUserId: a.iamUserId, localName: a.user, uid: a.uid }] : [])),
});
const create = (user: string, uid: number | null = 2000): Action => ({ kind: 'create-user', user, iamName: user.toUpperCase(), iamUserId: `AIDA${user}`, uid, groups: ['iam-synced-users'], reason: 'in ssh-users' });

test('applies every action in order and logs one sync.change each; a sudoers body is not logged', async () => {
  const f = fakes();
  const p = plan([
    { kind: 'create-group', group: 'iam-ssh-sudo', reason: 'sudo group' },
    create('alice'),
    { kind: 'add-member', user: 'alice', group: 'iam-ssh-sudo', via: 'usermod', reason: 'in admins' },
    { kind: 'write-sudoers', content: '%iam-ssh-sudo ALL=(ALL) NOPASSWD:ALL\n', reason: 'rule changed' },
  ]);
  const r = await applyPlan(p, f.deps, f.log);
  expect(f.effects).toEqual(['groupadd iam-ssh-sudo', 'useradd alice', 'add alice iam-ssh-sudo', 'sudoers']);
  expect(r).toEqual({ failures: 0, created: new Set(['alice']), renamed: new Set() });
  expect(f.events.map((e) => e.event)).toEqual(['sync.change', 'sync.change', 'sync.change', 'sync.change']);
  expect(f.events[3]!.fields).toEqual({ action: 'write-sudoers', reason: 'rule changed' });
  expect(f.registry.get('alice')).toEqual({ iamName: 'ALICE', iamUserId: 'AIDAalice', uid: 2000 });
});

test('one failing create is reported, its registry entry dropped, and the others go on', async () => {
  const f = fakes({ failCreate: new Set(['bob']) });
  const p = plan([create('bob'), create('carol', 2001)]);
  const r = await applyPlan(p, f.deps, f.log);
  expect(r.failures).toBe(1);
  expect([...r.created]).toEqual(['carol']);
  expect(f.registry.has('bob')).toBe(false);
  expect(f.events[0]).toMatchObject({ level: 'error', event: 'sync.change_failed', fields: { user: 'bob', error: 'useradd: exit 10' } });
  expect(usersInPlace(p, r).map((d) => d.localName)).toEqual(['carol']);
});

test("a create that fails because a killed run's useradd made the same account counts as done", async () => {
  const f = fakes({ failCreate: new Set(['dave']), appearsAnyway: { dave: 2002 } });
  const r = await applyPlan(plan([create('dave', 2002)]), f.deps, f.log);
  expect(r).toEqual({ failures: 0, created: new Set(['dave']), renamed: new Set() });
  expect(f.registry.get('dave')!.uid).toBe(2002);
});

test('a create that fails while an account of that name appears with another UID drops the registry entry: that account is not ours', async () => {
  const f = fakes({ failCreate: new Set(['erin']), appearsAnyway: { erin: 4242 } });
  const r = await applyPlan(plan([create('erin', 2003)]), f.deps, f.log);
  expect(r).toEqual({ failures: 1, created: new Set(), renamed: new Set() });
  expect(f.registry.has('erin')).toBe(false);
});

test('with UID_MODE=auto a failed create drops the entry even when an account of that name appears: its UID proves nothing', async () => {
  const f = fakes({ failCreate: new Set(['erin']), appearsAnyway: { erin: 1500 } });
  const r = await applyPlan(plan([create('erin', null)]), f.deps, f.log);
  expect(r.failures).toBe(1);
  expect(f.registry.has('erin')).toBe(false);
});

test('with UID_MODE=auto the registry records the UID useradd chose', async () => {
  const f = fakes();
  await applyPlan(plan([create('frank', null)]), f.deps, f.log);
  expect(f.registry.get('frank')!.uid).toBe(1500);
});

test('a removal deletes the account, then its registry entry and its keys cache entry', async () => {
  const f = fakes();
  f.registry.set('gone', { iamName: 'Gone', iamUserId: 'AIDAGONE', uid: 2004 });
  f.users.gone = { uid: 2004 };
  await applyPlan(plan([{ kind: 'remove-user', user: 'gone', iamName: 'Gone', keepHome: true, reason: 'left ssh-users' }]), f.deps, f.log);
  expect(f.effects).toEqual(['userdel gone', 'forget gone']);
  expect(f.registry.has('gone')).toBe(false);
});

test('a failed removal keeps the registry entry, so the next run tries again', async () => {
  const f = fakes();
  f.registry.set('stuck', { iamName: 'Stuck', iamUserId: 'AIDASTUCK', uid: 2005 });
  f.users.stuck = { uid: 2005 };
  f.deps.accounts.removeUser = async () => { throw new Error('userdel: user stuck is currently used by process 42'); };
  const r = await applyPlan(plan([{ kind: 'remove-user', user: 'stuck', iamName: 'Stuck', keepHome: true, reason: 'left' }]), f.deps, f.log);
  expect(r.failures).toBe(1);
  expect(f.registry.has('stuck')).toBe(true);
  expect(f.effects).not.toContain('forget stuck');
});

describe('what a killed run left', () => {
  const entry = (user: string, uid: number | null): RegistryEntry => ({ iamName: user.toUpperCase(), iamUserId: `AIDA${user}`, uid });

  test('a create that ran to its end is settled; one finished by a killed run\'s useradd stays to be checked', async () => {
    const f = fakes({ failCreate: new Set(['dave']), appearsAnyway: { dave: 2002 } });
    await applyPlan(plan([create('carol', 2001), create('dave', 2002)]), f.deps, f.log);
    expect([...f.creating]).toEqual(['dave']);
    expect([...f.registry.keys()].sort()).toEqual(['carol', 'dave']);
  });

  test('with an empty registry nothing is read before the actions', async () => {
    const f = fakes();
    await applyPlan(plan([{ kind: 'create-group', group: 'g', reason: 'r' }]), f.deps, f.log);
    expect(f.snapshots.n).toBe(0);
  });

  test('an account whose creation was cut short is made again, with its UID, before the actions, then settled', async () => {
    const f = fakes({ unfinished: { ben: ['no shadow entry', 'no home /home/ben'] } });
    f.deps.registry.begin('ben', entry('ben', 3001));
    f.users.ben = { uid: 3001 };
    const r = await applyPlan(plan([{ kind: 'add-member', user: 'ben', group: 'iam-synced-users', via: 'usermod', reason: 'r' }]), f.deps, f.log);
    expect(f.effects).toEqual(['check ben', 'recreate ben 3001', 'add ben iam-synced-users']);
    expect(r.failures).toBe(0);
    expect(f.creating.size).toBe(0);
    expect(f.events[0]).toMatchObject({ level: 'info', event: 'sync.change', fields: { action: 'finish-create', user: 'ben', unfinished: ['no shadow entry', 'no home /home/ben'] } });
  });

  test('a complete account left as being created is only settled', async () => {
    const f = fakes();
    f.deps.registry.begin('ben', entry('ben', 3001));
    f.users.ben = { uid: 3001 };
    await applyPlan(plan([]), f.deps, f.log);
    expect(f.effects).toEqual(['check ben']);
    expect(f.creating.size).toBe(0);
    expect(f.events).toEqual([]);
  });

  test('UID_MODE=auto: an entry begun without a UID takes the account\'s', async () => {
    const f = fakes();
    f.deps.registry.begin('ben', entry('ben', null));
    f.users.ben = { uid: 1501 };
    await applyPlan(plan([]), f.deps, f.log);
    expect(f.registry.get('ben')!.uid).toBe(1501);
  });

  test('an account of that name with another UID is not ours: the entry goes, the account is not touched', async () => {
    const f = fakes({ unfinished: { ben: ['no home /home/ben'] } });
    f.deps.registry.begin('ben', entry('ben', 3001));
    f.users.ben = { uid: 4242 };
    await applyPlan(plan([]), f.deps, f.log);
    expect(f.effects).toEqual([]);
    expect(f.registry.has('ben')).toBe(false);
    expect(f.events[0]).toMatchObject({ level: 'warn', fields: { action: 'forget-account', user: 'ben' } });
  });

  test('a registered account that does not exist loses its leftovers and its entry, unless this run creates it', async () => {
    const f = fakes({ leftovers: { eve: ['shadow entry', 'member of iam-synced-users'], ben: ['group ben'] } });
    f.registry.set('eve', entry('eve', 3005));
    f.deps.registry.begin('ben', entry('ben', 3001));
    const r = await applyPlan(plan([create('ben', 3001)]), f.deps, f.log);
    expect(f.effects).toEqual(['clear ben', 'clear eve', 'forget eve', 'useradd ben']);
    expect(r).toEqual({ failures: 0, created: new Set(['ben']), renamed: new Set() });
    expect(f.registry.has('eve')).toBe(false);
    expect(f.registry.get('ben')!.uid).toBe(3001);
    expect(f.creating.size).toBe(0);
    const changes = f.events.filter((e) => e.event === 'sync.change').map((e) => [e.fields.action, e.fields.user]);
    expect(changes).toEqual([['clear-leftovers', 'ben'], ['clear-leftovers', 'eve'], ['forget-account', 'eve'], ['create-user', 'ben']]);
  });

  test('an account this run removes, or one not being created, is left to the plan', async () => {
    const f = fakes({ unfinished: { gone: ['no home /home/gone'], old: ['no home /home/old'] } });
    f.deps.registry.begin('gone', entry('gone', 3006));
    f.users.gone = { uid: 3006 };
    f.registry.set('old', entry('old', 3007));
    f.users.old = { uid: 3007 };
    await applyPlan(plan([{ kind: 'remove-user', user: 'gone', iamName: 'GONE', keepHome: true, reason: 'left' }]), f.deps, f.log);
    expect(f.effects).toEqual(['userdel gone', 'forget gone']);
  });

  test('a failed repair is counted and reported, the entry stays for the next run, and the plan goes on', async () => {
    const f = fakes({ unfinished: { ben: ['no shadow entry'] }, failRecreate: new Set(['ben']) });
    f.deps.registry.begin('ben', entry('ben', 3001));
    f.users.ben = { uid: 3001 };
    const r = await applyPlan(plan([create('carol', 2001)]), f.deps, f.log);
    expect(r).toEqual({ failures: 1, created: new Set(['carol']), renamed: new Set() });
    expect(f.creating.has('ben')).toBe(true);
    expect(f.events[0]).toMatchObject({ level: 'error', event: 'sync.change_failed', fields: { action: 'finish-create', user: 'ben', error: 'userdel: exit 8' } });
  });
});

describe("aws-ec2-ssh's accounts", () => {
  const adopt = (user: string, uid: number): Action => ({ kind: 'adopt-user', user, iamName: user, iamUserId: `AIDA${user}`, uid, reason: "aws-ec2-ssh's account" });
  const oldRule = (user: string, grant: string | null): Action => ({
    kind: 'remove-legacy-sudoers', user, file: `/etc/sudoers.d/${user.replace(/\./g, ' ')}`, content: `${user} ALL=(ALL) NOPASSWD:ALL\n`, grant, reason: 'r',
  });
  const sudoMember = (user: string): Action => ({ kind: 'add-member', user, group: 'iam-ssh-sudo', via: 'usermod', reason: 'in admins' });

  test('adoption records the account as it is, with its UID, and changes nothing of it; logged as adopt-user', async () => {
    const f = fakes();
    f.users['Alice.Smith'] = { uid: 1001 };
    const r = await applyPlan(plan([adopt('Alice.Smith', 1001)]), f.deps, f.log);
    expect(r.failures).toBe(0);
    expect(f.effects).toEqual([]);
    expect(f.registry.get('Alice.Smith')).toEqual({ iamName: 'Alice.Smith', iamUserId: 'AIDAAlice.Smith', uid: 1001, adopted: true });
    expect(f.creating.size).toBe(0);
    expect(f.events).toEqual([{ level: 'info', event: 'sync.change', fields: { action: 'adopt-user', user: 'Alice.Smith', iamName: 'Alice.Smith', iamUserId: 'AIDAAlice.Smith', uid: 1001, reason: "aws-ec2-ssh's account" } }]);
  });

  test.each([['gone', undefined], ['another UID', 4242]])('an account that is %s since the plan is not adopted', async (_w, uid) => {
    const f = fakes();
    if (uid !== undefined) f.users['Alice.Smith'] = { uid };
    const r = await applyPlan(plan([adopt('Alice.Smith', 1001)]), f.deps, f.log);
    expect(r.failures).toBe(1);
    expect(f.registry.size).toBe(0);
    expect(f.events[0]).toMatchObject({ event: 'sync.change_failed', fields: { action: 'adopt-user', error: 'Alice.Smith is no longer the account with uid 1001' } });
  });

  test("a legacy sudoers file goes after the membership that stands in for it; one that grants nothing new goes too", async () => {
    const f = fakes();
    f.users['Alice.Smith'] = { uid: 1001 };
    f.users.bob = { uid: 1002 };
    const r = await applyPlan(plan([adopt('Alice.Smith', 1001), adopt('bob', 1002), sudoMember('Alice.Smith'), oldRule('Alice.Smith', 'iam-ssh-sudo'), oldRule('bob', null)]), f.deps, f.log);
    expect(r.failures).toBe(0);
    expect(f.effects).toEqual(['add Alice.Smith iam-ssh-sudo', 'rm /etc/sudoers.d/Alice Smith after iam-ssh-sudo (Alice.Smith)', 'rm /etc/sudoers.d/bob (bob)']);
    expect(f.events.at(-2)!.fields).toEqual({ action: 'remove-legacy-sudoers', user: 'Alice.Smith', file: '/etc/sudoers.d/Alice Smith', grant: 'iam-ssh-sudo', reason: 'r' });
  });

  test.each<[string, (f: ReturnType<typeof fakes>) => void, Action[]]>([
    ['the membership failed', (f) => { f.deps.accounts.addMember = async () => { throw new Error('gpasswd: exit 3'); }; }, [sudoMember('Alice.Smith')]],
    ['the drop-in failed visudo', (f) => { f.deps.writeSudoers = async () => { throw new Error('visudo: syntax error'); }; }, [{ kind: 'write-sudoers', content: 'x', reason: 'r' }]],
    ['the adoption failed', () => {}, [adopt('Alice.Smith', 1001)]],
  ])("a legacy sudoers file that grants sudo is kept when %s in the same run", async (_w, breakIt, before) => {
    const f = fakes();
    breakIt(f);
    const r = await applyPlan(plan([...before, oldRule('Alice.Smith', 'iam-ssh-sudo')]), f.deps, f.log);
    expect(r.failures).toBe(2);
    expect(f.effects.filter((e) => e.startsWith('rm '))).toEqual([]);
    expect(f.events.at(-1)).toMatchObject({ level: 'error', event: 'sync.change_failed', fields: { action: 'remove-legacy-sudoers', error: expect.stringMatching(/^\/etc\/sudoers\.d\/Alice Smith is kept: .* failed in this run$/) } });
  });

  test('a failed drop-in does not keep a file whose user loses sudo', async () => {
    const f = fakes();
    f.deps.writeSudoers = async () => { throw new Error('visudo: syntax error'); };
    const r = await applyPlan(plan([{ kind: 'write-sudoers', content: 'x', reason: 'r' }, oldRule('bob', null)]), f.deps, f.log);
    expect(r.failures).toBe(1);
    expect(f.effects).toEqual(['rm /etc/sudoers.d/bob (bob)']);
  });

  describe('renaming (ADOPTED_NAMES)', () => {
    const rename = (moveHome = false): Action => ({ kind: 'rename-user', user: 'Alice.Smith', to: 'alice.smith', iamName: 'Alice.Smith', iamUserId: 'AIDAAlice.Smith', uid: 1001, moveHome, reason: 'r' });
    const adopted = (opts: FakeOpts = {}) => {
      const f = fakes(opts);
      f.users['Alice.Smith'] = { uid: 1001 };
      f.registry.set('Alice.Smith', { iamName: 'Alice.Smith', iamUserId: 'AIDAAlice.Smith', uid: 1001, adopted: true });
      return f;
    };
    const renamedPlan = (p: Plan): Plan => ({ ...p, desired: [{ iamName: 'Alice.Smith', iamUserId: 'AIDAAlice.Smith', localName: 'alice.smith', uid: 1001 }] });

    test('the registry entry and the keys cache follow the new name; the home moves only when asked', async () => {
      const f = adopted();
      const p = renamedPlan(plan([rename(true)]));
      const r = await applyPlan(p, f.deps, f.log);
      expect(r).toEqual({ failures: 0, created: new Set(), renamed: new Set(['Alice.Smith']) });
      expect(f.effects).toEqual(['rename Alice.Smith alice.smith moving home', 'forget Alice.Smith']);
      expect([...f.registry.entries()]).toEqual([['alice.smith', { iamName: 'Alice.Smith', iamUserId: 'AIDAAlice.Smith', uid: 1001, adopted: true }]]);
      expect(usersInPlace(p, r).map((d) => d.localName)).toEqual(['alice.smith']);
    });

    test('a rename that changed nothing leaves the old name registered and recorded', async () => {
      const f = adopted({ failRename: 'before' });
      const p = renamedPlan(plan([rename()]));
      const r = await applyPlan(p, f.deps, f.log);
      expect(r.failures).toBe(1);
      expect([...f.registry.keys()]).toEqual(['Alice.Smith']);
      expect(usersInPlace(p, r).map((d) => d.localName)).toEqual(['Alice.Smith']);
    });

    test('a rename that failed after usermod renamed the account leaves it registered and recorded under the new name', async () => {
      const f = adopted({ failRename: 'after' });
      const p = renamedPlan(plan([rename()]));
      const r = await applyPlan(p, f.deps, f.log);
      expect(r.failures).toBe(1);
      expect([...f.registry.keys()]).toEqual(['alice.smith']);
      expect(usersInPlace(p, r).map((d) => d.localName)).toEqual(['alice.smith']);
    });

    test('only an adopted account with the planned UID is renamed', async () => {
      const f = fakes();
      f.users['Alice.Smith'] = { uid: 1001 };
      f.registry.set('Alice.Smith', { iamName: 'Alice.Smith', iamUserId: 'AIDAAlice.Smith', uid: 1001 });
      const r = await applyPlan(plan([rename()]), f.deps, f.log);
      expect(r.failures).toBe(1);
      expect(f.effects).toEqual([]);
    });
  });
});
