/**
 * The keys lookup with a fake IAM directory and real files in a temporary state and cache
 * directory: which answers reach stdout, which IAM calls are made, and when it fails closed.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupKeys, type LookupDeps } from '../../../src/keys/lookup';
import { defaults, type Config } from '../../../src/config/config';
import { authScope } from '../../../src/keys/cache-entry';
import { syncStatePath } from '../../../src/state/sync-state';
import type { IamDirectory, IamKeyBody } from '../../../src/aws/iam';
import type { Level } from '../../../src/util/log';
import { parsePublicKey } from '../../../src/util/ssh-key';
import { generateSshKey } from '../../helpers/ssh-wire';

const keyA = generateSshKey('ed25519', 'a@test').line;
const keyB = generateSshKey('ed25519', 'b@test').line;
const fp = (line: string) => (parsePublicKey(line) as { ok: true; key: { fingerprint: string } }).key.fingerprint;

let dir: string;
let config: Config;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iam-ssh-lookup-'));
  config = { ...defaults(), stateDir: join(dir, 'state'), cacheDir: join(dir, 'cache'), authorizedGroups: ['ssh-users'], keysCacheTtlMs: 60_000, keysMaxStaleMs: 3_600_000 };
  mkdirSync(config.stateDir);
  mkdirSync(config.cacheDir, { mode: 0o700 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface FakeIam extends IamDirectory {
  fail: boolean;
}

function fakeIam(members: Record<string, string>, keys: Record<string, IamKeyBody[]>): FakeIam {
  const calls: Record<string, number> = {};
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const iam: FakeIam = {
    calls, fail: false,
    listGroupMembers: async () => (count('GetGroup'), iam.fail ? Promise.reject(new Error('Throttling')) : Object.entries(members).map(([userName, userId]) => ({ userName, userId }))),
    listUsers: async () => (count('ListUsers'), []),
    listActiveKeyIds: async (user) => {
      count('ListSSHPublicKeys');
      if (iam.fail) throw new Error('Throttling: Rate exceeded');
      return (keys[user] ?? []).map((k) => k.id);
    },
    getKey: async (user, id) => (count('GetSSHPublicKey'), keys[user]!.find((k) => k.id === id)!),
  };
  return iam;
}

/** Local accounts sync created (name -> IAM user id), as the registry, passwd and marker group say. */
let managed: Record<string, { iamName: string; iamUserId: string }>;
beforeEach(() => (managed = { alice: { iamName: 'Alice', iamUserId: 'AIDAALICE' } }));

function run(user: string, iam: FakeIam, opts: { fingerprint?: string; now?: number } = {}) {
  const out: string[] = [];
  const events: { level: Level; event: string; fields: Record<string, unknown> }[] = [];
  const factoryCalls: { retry: boolean }[] = [];
  const deps: LookupDeps = {
    config,
    log: { log: (level, event, fields = {}) => void events.push({ level, event, fields }) },
    iam: async (o) => (factoryCalls.push(o), iam),
    out: (text) => void out.push(text),
    managedAccount: (name) => {
      const m = managed[name];
      return m ? { ok: true, account: { localName: name, uid: 2000, ...m } } : { ok: false, reason: 'not an account iam-ssh created or adopted' };
    },
    now: () => opts.now ?? Date.now(),
    sleep: async () => {},
  };
  return lookupKeys(user, opts.fingerprint, deps).then(() => ({ out: out.join(''), events, factoryCalls, names: events.map((e) => e.event) }));
}

const alice = { Alice: 'AIDAALICE' };
const aliceKeys = { Alice: [{ id: 'APKA1', status: 'Active', body: keyA }, { id: 'APKA2', status: 'Active', body: keyB }] };

test('a miss reads IAM, prints every Active key, and the next lookup is a hit without IAM', async () => {
  const iam = fakeIam(alice, aliceKeys);
  const first = await run('alice', iam);
  expect(first.out).toBe(`${keyA}\n${keyB}\n`);
  expect(first.events.find((e) => e.event === 'keys.served')!.fields).toMatchObject({ source: 'miss', iamUser: 'Alice', keys: [{ id: 'APKA1', fingerprint: fp(keyA) }, { id: 'APKA2', fingerprint: fp(keyB) }] });
  expect(iam.calls).toEqual({ GetGroup: 1, ListSSHPublicKeys: 1, GetSSHPublicKey: 2 });

  const second = await run('alice', iam);
  expect(second.out).toBe(first.out);
  expect(second.factoryCalls).toEqual([]);
  expect(second.events.find((e) => e.event === 'keys.served')!.fields).toMatchObject({ source: 'hit' });
});

test('the fingerprint sshd passes narrows the answer to that key', async () => {
  const r = await run('alice', fakeIam(alice, aliceKeys), { fingerprint: fp(keyB) });
  expect(r.out).toBe(`${keyB}\n`);
  expect(r.events.find((e) => e.event === 'keys.served')!.fields).toMatchObject({ matchedKeyId: 'APKA2' });
});

test('a malformed fingerprint is ignored and logged, not trusted', async () => {
  const r = await run('alice', fakeIam(alice, aliceKeys), { fingerprint: 'SHA256:short' });
  expect(r.out).toBe(`${keyA}\n${keyB}\n`);
  expect(r.names).toContain('keys.fingerprint_ignored');
});

test.each(['root', 'Alice', '-oProxyCommand', 'a'.repeat(33), 'x\ny'])('an unusable name (%j) is refused without IAM', async (name) => {
  const r = await run(name, fakeIam(alice, aliceKeys));
  expect(r.out).toBe('');
  expect(r.factoryCalls).toEqual([]);
  expect(r.names).toEqual(['keys.refused']);
});

describe("an account adopted from aws-ec2-ssh, under the name it gave (case kept)", () => {
  const smith = { 'Alice.Smith': 'AIDASMITH' };
  const smithKeys = { 'Alice.Smith': [{ id: 'APKAS', status: 'Active', body: keyA }] };
  beforeEach(() => (managed['Alice.Smith'] = { iamName: 'Alice.Smith', iamUserId: 'AIDASMITH' }));
  const record = (users: { iamName: string; localName: string }[]) => writeFileSync(syncStatePath(config.stateDir), JSON.stringify({
    version: 1, writtenAt: new Date().toISOString(), scope: authScope(config), users: users.map((u) => ({ ...u, uid: 1001, iamUserId: `AIDA${u.iamName}` })),
  }));

  test('is served through the registry, and the next lookup is a cache hit', async () => {
    const iam = fakeIam(smith, smithKeys);
    const first = await run('Alice.Smith', iam);
    expect(first.out).toBe(`${keyA}\n`);
    expect(first.events.find((e) => e.event === 'keys.served')!.fields).toMatchObject({ user: 'Alice.Smith', iamUser: 'Alice.Smith', source: 'miss' });
    const second = await run('Alice.Smith', iam);
    expect(second.out).toBe(`${keyA}\n`);
    expect(second.factoryCalls).toEqual([]);
    expect(second.events.find((e) => e.event === 'keys.served')!.fields).toMatchObject({ source: 'hit' });
  });

  test("is served when sync's member list records it under that name", async () => {
    record([{ iamName: 'Alice.Smith', localName: 'Alice.Smith' }]);
    expect((await run('Alice.Smith', fakeIam(smith, smithKeys))).out).toBe(`${keyA}\n`);
    expect((await run('alice', fakeIam(alice, aliceKeys))).events[0]!.fields).toMatchObject({ reason: 'not in the member list recorded by sync' });
  });

  test('a member list that names an account other than the IAM name spelled out (case kept or lower) is not trusted', async () => {
    record([{ iamName: 'Alice.Smith', localName: 'ALICE.SMITH' }]);
    managed['ALICE.SMITH'] = managed['Alice.Smith']!;
    const r = await run('ALICE.SMITH', fakeIam(smith, smithKeys));
    expect(r.events.find((e) => e.event === 'keys.served')).toBeDefined(); // the record is ignored; the registry still decides
    expect(r.events.find((e) => e.event === 'keys.refused')).toBeUndefined();
  });

  test.each(['Alice.Smith', 'Bob'])('%j without a registry entry is refused without IAM', async (name) => {
    delete managed['Alice.Smith'];
    const r = await run(name, fakeIam(smith, smithKeys));
    expect(r.out).toBe('');
    expect(r.factoryCalls).toEqual([]);
    expect(r.events).toEqual([expect.objectContaining({ event: 'keys.refused', fields: { user: name, reason: 'not an account iam-ssh created or adopted' } })]);
  });

  test.each(['-Alice', '.', '..', '.Alice', '1234', 'Root', 'Alice Smith', 'Alice/x', 'A'.repeat(33), 'Alice+x', 'Alice.Smith\n'])(
    'a name outside aws-ec2-ssh\'s rule (%j) is refused by name, without a registry read or IAM', async (name) => {
      managed[name] = { iamName: 'Alice.Smith', iamUserId: 'AIDASMITH' };
      const r = await run(name, fakeIam(smith, smithKeys));
      expect(r.out).toBe('');
      expect(r.factoryCalls).toEqual([]);
      expect(r.events).toEqual([expect.objectContaining({ event: 'keys.refused', fields: expect.objectContaining({ reason: expect.stringMatching(/^name /) }) })]);
    });
});

test("a name outside sync's recorded member list is refused without IAM", async () => {
  const state = { version: 1, writtenAt: new Date().toISOString(), scope: authScope(config), users: [{ iamName: 'Bob', localName: 'bob', uid: 2000, iamUserId: 'AIDABOB' }] };
  writeFileSync(syncStatePath(config.stateDir), JSON.stringify(state));
  const r = await run('alice', fakeIam(alice, aliceKeys));
  expect(r.out).toBe('');
  expect(r.factoryCalls).toEqual([]);
  expect(r.events[0]!.fields).toMatchObject({ reason: 'not in the member list recorded by sync' });
});

test('an existing local account iam-ssh does not manage gets no keys, even when an IAM user of that name is authorized', async () => {
  const iam = fakeIam({ ubuntu: 'AIDAUBUNTU' }, { ubuntu: [{ id: 'APKAU', status: 'Active', body: keyA }] });
  const r = await run('ubuntu', iam);
  expect(r.out).toBe('');
  expect(r.factoryCalls).toEqual([]);
  expect(r.events).toEqual([expect.objectContaining({ event: 'keys.refused', fields: { user: 'ubuntu', reason: 'not an account iam-ssh created or adopted' } })]);
});

test('a miss re-checks membership: a user taken out of the authorized groups gets nothing, and the old entry is dropped', async () => {
  const members: Record<string, string> = { ...alice };
  const iam = fakeIam(members, aliceKeys);
  const t0 = Date.now();
  expect((await run('alice', iam, { now: t0 })).out).toBe(`${keyA}\n${keyB}\n`);
  delete members.Alice;
  const later = t0 + config.keysCacheTtlMs + 1;
  const r = await run('alice', iam, { now: later });
  expect(r.out).toBe('');
  expect(r.events.at(-1)).toMatchObject({ event: 'keys.refused', fields: { reason: 'the IAM user is no longer in the authorized groups' } });
  // An IAM outage afterwards does not bring the removed user's keys back as a stale answer.
  iam.fail = true;
  expect((await run('alice', iam, { now: later + 1 })).out).toBe('');
});

test('an IAM user deleted and re-created under the same name (a new user id) is not the registered one', async () => {
  const iam = fakeIam({ Alice: 'AIDANEWALICE' }, aliceKeys);
  const r = await run('alice', iam);
  expect(r.out).toBe('');
  expect(r.names).toEqual(['keys.refused']);
});

test('a fresh entry counts from the member read it was checked against', async () => {
  const iam = fakeIam(alice, aliceKeys);
  const t0 = Date.now();
  await run('bob-unmanaged', iam, { now: t0 }); // refused: no IAM at all
  await run('alice', iam, { now: t0 });
  const calls = { ...iam.calls };
  // Within the TTL of the member read: a hit. Just past it: a refresh with a new member read.
  expect((await run('alice', iam, { now: t0 + config.keysCacheTtlMs - 1 })).factoryCalls).toEqual([]);
  await run('alice', iam, { now: t0 + config.keysCacheTtlMs + 1 });
  expect(iam.calls.GetGroup).toBe(calls.GetGroup! + 1);
});

test('IAM failing with a usable stale entry: the stale keys are served, after one try only', async () => {
  const iam = fakeIam(alice, aliceKeys);
  const t0 = Date.now();
  await run('alice', iam, { now: t0 });
  iam.fail = true;
  const r = await run('alice', iam, { now: t0 + config.keysCacheTtlMs + 1 });
  expect(r.out).toBe(`${keyA}\n${keyB}\n`);
  expect(r.factoryCalls).toEqual([{ retry: false }]);
  expect(r.names).toEqual(['keys.stale', 'keys.served']);
  expect(r.events.find((e) => e.event === 'keys.served')!.fields).toMatchObject({ source: 'stale' });
});

test('IAM failing with nothing to fall back on: fails closed, with retries allowed', async () => {
  const iam = fakeIam(alice, aliceKeys);
  iam.fail = true;
  const r = await run('alice', iam);
  expect(r.out).toBe('');
  expect(r.factoryCalls).toEqual([{ retry: true }]);
  expect(r.events.at(-1)).toMatchObject({ level: 'error', event: 'keys.failed_closed' });
});

test('an entry older than KEYS_MAX_STALE is never served', async () => {
  const iam = fakeIam(alice, aliceKeys);
  const t0 = Date.now();
  await run('alice', iam, { now: t0 });
  iam.fail = true;
  const r = await run('alice', iam, { now: t0 + config.keysMaxStaleMs + 1 });
  expect(r.out).toBe('');
  expect(r.names).toContain('keys.failed_closed');
});

test('a member list cached before sync recorded a new member does not refuse that member: IAM is read again', async () => {
  const members: Record<string, string> = { ...alice };
  const iam = fakeIam(members, { ...aliceKeys, Bob: [{ id: 'APKAB', status: 'Active', body: keyB }] });
  const t0 = Date.now();
  await run('alice', iam, { now: t0 }); // caches the member list [Alice]
  // Bob joins the group; a sync reads it, records him and creates his account.
  members.Bob = 'AIDABOB';
  managed.bob = { iamName: 'Bob', iamUserId: 'AIDABOB' };
  const state = { version: 1, writtenAt: new Date(t0 + 1000).toISOString(), scope: authScope(config), users: [
    { iamName: 'Alice', localName: 'alice', uid: 2000, iamUserId: 'AIDAALICE' }, { iamName: 'Bob', localName: 'bob', uid: 2001, iamUserId: 'AIDABOB' }] };
  writeFileSync(syncStatePath(config.stateDir), JSON.stringify(state));
  const r = await run('bob', iam, { now: t0 + 2000 });
  expect(r.out).toBe(`${keyB}\n`);
  // The list read before the sync still serves members it holds, without IAM.
  const calls = iam.calls.GetGroup;
  await run('alice', iam, { now: t0 + 3000 });
  expect(iam.calls.GetGroup).toBe(calls);
});

test('a member list cached after sync recorded the member still refuses one no longer in it, without IAM', async () => {
  const t0 = Date.now();
  const state = { version: 1, writtenAt: new Date(t0 - 5000).toISOString(), scope: authScope(config), users: [
    { iamName: 'Alice', localName: 'alice', uid: 2000, iamUserId: 'AIDAALICE' }, { iamName: 'Bob', localName: 'bob', uid: 2001, iamUserId: 'AIDABOB' }] };
  writeFileSync(syncStatePath(config.stateDir), JSON.stringify(state));
  managed.bob = { iamName: 'Bob', iamUserId: 'AIDABOB' };
  const iam = fakeIam(alice, aliceKeys);
  await run('alice', iam, { now: t0 }); // member list [Alice], read after the record
  const calls = iam.calls.GetGroup;
  const r = await run('bob', iam, { now: t0 + 1000 });
  expect(r.out).toBe('');
  expect(r.events.at(-1)).toMatchObject({ event: 'keys.refused', fields: { reason: 'the IAM user is no longer in the authorized groups' } });
  expect(iam.calls.GetGroup).toBe(calls);
});
