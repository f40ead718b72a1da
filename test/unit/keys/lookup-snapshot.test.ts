/**
 * The keys lookup with SNAPSHOT_URL: the entry sync wrote from the snapshot is served (source
 * snapshot, with the serial) while younger than SNAPSHOT_MAX_AGE + KEYS_MAX_STALE: a publisher
 * that stops, or a bucket writer holding back new snapshots, freezes logins no longer than an IAM
 * outage would. Without an entry keys fails closed and never builds an IAM client.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lookupKeys } from '../../../src/keys/lookup';
import { defaults, type Config } from '../../../src/config/config';
import { authScope, type KeysCacheEntry } from '../../../src/keys/cache-entry';
import { parsePublicKey } from '../../../src/util/ssh-key';
import { generateSshKey } from '../../helpers/ssh-wire';

const keyA = generateSshKey('ed25519').line;
const fp = (parsePublicKey(keyA) as { ok: true; key: { fingerprint: string } }).key.fingerprint;
let dir: string;
let config: Config;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iam-ssh-lookup-snapshot-'));
  config = { ...defaults(), stateDir: join(dir, 'state'), cacheDir: join(dir, 'cache'), authorizedGroups: ['ssh-users'], snapshotUrl: 's3://fleet-access/prod/access.json' };
  mkdirSync(config.stateDir);
  mkdirSync(join(config.cacheDir, 'keys'), { recursive: true, mode: 0o700 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const entry = (extra: Partial<KeysCacheEntry>): KeysCacheEntry => ({
  version: 1, fetchedAt: Date.now(), localUser: 'alice', iamUser: 'Alice', scope: authScope(config), keys: [{ id: 'APKA1', line: keyA, fingerprint: fp }], ...extra,
});

async function run() {
  const out: string[] = [];
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  let iamBuilt = 0;
  await lookupKeys('alice', undefined, {
    config,
    log: { log: (_l, event, fields = {}) => void events.push({ event, fields }) },
    iam: async () => {
      iamBuilt++;
      throw new Error('no IAM in snapshot mode');
    },
    out: (t) => void out.push(t),
    managedAccount: () => ({ ok: true, account: { localName: 'alice', uid: 2000, iamName: 'Alice', iamUserId: 'AIDAALICE' } }),
    sleep: async () => {},
  });
  return { out: out.join(''), events, iamBuilt };
}

test('an entry from the snapshot is served as source snapshot with its serial while younger than SNAPSHOT_MAX_AGE + KEYS_MAX_STALE, then fails closed', async () => {
  const limit = config.snapshotMaxAgeMs + config.keysMaxStaleMs;
  writeFileSync(join(config.cacheDir, 'keys', 'alice.json'), JSON.stringify(entry({ fetchedAt: Date.now() - limit + 60_000, snapshotSerial: 1_796_000_000 })));
  const r = await run();
  expect(r.out).toBe(`${keyA}\n`);
  expect(r.events.find((e) => e.event === 'keys.served')!.fields).toMatchObject({ source: 'snapshot', serial: 1_796_000_000, calls: {} });
  expect(r.iamBuilt).toBe(0);

  writeFileSync(join(config.cacheDir, 'keys', 'alice.json'), JSON.stringify(entry({ fetchedAt: Date.now() - limit - 60_000, snapshotSerial: 1_796_000_000 })));
  const old = await run();
  expect(old.out).toBe('');
  expect(old.events.map((e) => e.event)).toEqual(['keys.failed_closed']);
  expect(old.events[0]!.fields.reason).toMatch(/SNAPSHOT_MAX_AGE \+ KEYS_MAX_STALE/);
  expect(old.iamBuilt).toBe(0);
});

test('no entry: fails closed without building an IAM client', async () => {
  const r = await run();
  expect(r.out).toBe('');
  expect(r.events.map((e) => e.event)).toEqual(['keys.failed_closed']);
  expect(r.events[0]!.fields.reason).toMatch(/no keys cache entry from the access snapshot/);
  expect(r.iamBuilt).toBe(0);
});

test('an entry of an IAM read serves while within KEYS_MAX_STALE, then fails closed; never an IAM call', async () => {
  writeFileSync(join(config.cacheDir, 'keys', 'alice.json'), JSON.stringify(entry({ fetchedAt: Date.now() - 3_600_000 })));
  const stale = await run();
  expect(stale.out).toBe(`${keyA}\n`);
  expect(stale.events.find((e) => e.event === 'keys.served')!.fields).toMatchObject({ source: 'stale' });
  writeFileSync(join(config.cacheDir, 'keys', 'alice.json'), JSON.stringify(entry({ fetchedAt: Date.now() - 2 * 86_400_000 })));
  const expired = await run();
  expect(expired.out).toBe('');
  expect(expired.events.map((e) => e.event)).toEqual(['keys.failed_closed']);
  expect(stale.iamBuilt + expired.iamBuilt).toBe(0);
});

test('a malformed serial makes the entry invalid: nothing is served', async () => {
  writeFileSync(join(config.cacheDir, 'keys', 'alice.json'), JSON.stringify(entry({ snapshotSerial: -1 })));
  expect((await run()).out).toBe('');
});
