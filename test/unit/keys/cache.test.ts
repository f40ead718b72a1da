import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync, existsSync, readdirSync, utimesSync, mkdirSync, chownSync, renameSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeysCache } from '../../../src/keys/cache';
import { authScope, type KeysCacheEntry } from '../../../src/keys/cache-entry';
import { generateSshKey, type WireKey } from '../../helpers/ssh-wire';

const scopeOf = (g: string[], e: string | null, r: string | null = null) => authScope({ authorizedGroups: g, awsEndpointUrl: e, assumeRole: r });

const SCOPE = scopeOf(['admins'], null);
let key: WireKey;
let root: string;
let cache: KeysCache;

beforeAll(() => {
  key = generateSshKey('ed25519', 'alice@laptop');
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'iam-ssh-keys-cache-'));
  // install creates CACHE_DIR for the command user; the cache itself never does.
  mkdirSync(join(root, 'cache'), { mode: 0o700 });
  cache = new KeysCache(join(root, 'cache'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function entry(over: Partial<KeysCacheEntry> = {}): KeysCacheEntry {
  return {
    version: 1,
    fetchedAt: 1_750_000_000_000,
    localUser: 'alice',
    iamUser: 'Alice',
    scope: SCOPE,
    keys: [{ id: 'APKAEXAMPLE1', line: key.line, fingerprint: key.fingerprint }],
    ...over,
  };
}

const mode = (p: string) => statSync(p).mode & 0o777;

describe('KeysCache read/write', () => {
  test('the keys directory is under the cache directory', () => {
    expect(cache.dir).toBe(join(root, 'cache', 'keys'));
  });

  test('write then read round-trips', () => {
    cache.write(entry());
    expect(cache.read('alice', SCOPE)).toEqual(entry());
  });

  test('a missing file reads as null', () => {
    expect(cache.read('alice', SCOPE)).toBeNull();
    cache.write(entry());
    expect(cache.read('bob', SCOPE)).toBeNull();
  });

  test('another scope reads as null', () => {
    cache.write(entry());
    expect(cache.read('alice', scopeOf(['admins', 'ops'], null))).toBeNull();
  });

  test('file mode 0600 in a directory of mode 0700, no temporary files left', () => {
    cache.write(entry());
    const file = join(cache.dir, 'alice.json');
    expect(mode(file)).toBe(0o600);
    expect(mode(cache.dir)).toBe(0o700);
    expect(readdirSync(cache.dir)).toEqual(['alice.json']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(entry());
  });

  test('a rewrite replaces the entry and fixes a widened file mode', () => {
    cache.write(entry());
    const file = join(cache.dir, 'alice.json');
    writeFileSync(file, readFileSync(file), { mode: 0o644 });
    cache.write(entry({ fetchedAt: 42, keys: [] }));
    expect(cache.read('alice', SCOPE)).toEqual(entry({ fetchedAt: 42, keys: [] }));
    expect(mode(file)).toBe(0o600);
  });

  test.each([
    ['garbage', 'not json at all'],
    ['truncated JSON', () => JSON.stringify(entry()).slice(0, 40)],
    ['empty', ''],
    ['an injected key option', () => JSON.stringify(entry()).replace(key.line, `command=\\"/bin/sh\\" ${key.line}`)],
    ['another user', () => JSON.stringify(entry({ localUser: 'bob' }))],
  ])('a corrupt file is ignored: %s', (_name, content) => {
    cache.write(entry());
    writeFileSync(join(cache.dir, 'alice.json'), typeof content === 'function' ? content() : content);
    expect(cache.read('alice', SCOPE)).toBeNull();
  });

  test('a directory in place of the file reads as null', () => {
    mkdirSync(join(cache.dir, 'alice.json'), { recursive: true });
    expect(cache.read('alice', SCOPE)).toBeNull();
  });
});

describe('KeysCache tryLock', () => {
  const lockFile = () => join(cache.dir, 'alice.lock');

  test('creates the directory, holds the lock, and releases it', () => {
    const release = cache.tryLock('alice', 10_000);
    expect(release).toEqual(expect.any(Function));
    expect(mode(cache.dir)).toBe(0o700);
    expect(existsSync(lockFile())).toBe(true);
    expect(mode(lockFile())).toBe(0o600);
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    release!();
    expect(existsSync(lockFile())).toBe(false);
  });

  test('returns null while held, and works again after release', () => {
    const release = cache.tryLock('alice', 10_000);
    expect(release).not.toBeNull();
    expect(cache.tryLock('alice', 10_000)).toBeNull();
    expect(cache.tryLock('alice', 10_000)).toBeNull();
    release!();
    const again = cache.tryLock('alice', 10_000);
    expect(again).not.toBeNull();
    again!();
  });

  test('locks are per user', () => {
    const a = cache.tryLock('alice', 10_000);
    const b = cache.tryLock('bob', 10_000);
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    a!();
    b!();
  });

  test('breaks a lock whose mtime is older than staleMs', () => {
    const first = cache.tryLock('alice', 5_000);
    expect(first).not.toBeNull();
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(lockFile(), old, old);
    // still within a generous staleMs: held
    expect(cache.tryLock('alice', 120_000)).toBeNull();
    // older than staleMs: broken and taken
    const second = cache.tryLock('alice', 5_000);
    expect(second).not.toBeNull();
    expect(existsSync(lockFile())).toBe(true);
    expect(statSync(lockFile()).mtimeMs).toBeGreaterThan(Date.now() - 10_000);
    // the new holder's lock is fresh, so it is not broken in turn
    expect(cache.tryLock('alice', 5_000)).toBeNull();
    second!();
    expect(existsSync(lockFile())).toBe(false);
  });

  test('a stale lock left by a dead process (a plain file) is broken', () => {
    mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    writeFileSync(lockFile(), '999999');
    const old = (Date.now() - 3_600_000) / 1000;
    utimesSync(lockFile(), old, old);
    const release = cache.tryLock('alice', 1_000);
    expect(release).not.toBeNull();
    expect(readFileSync(lockFile(), 'utf8')).toBe(String(process.pid));
    release!();
  });

  test('release twice is harmless', () => {
    const release = cache.tryLock('alice', 1_000)!;
    release();
    expect(() => release()).not.toThrow();
  });
});

describe('KeysCache ownership', () => {
  test('a cache directory of our own is writable', () => {
    expect(cache.writable).toBe(true);
  });

  test('a missing cache directory is never created (a keys run by hand as root must not make it root\'s)', () => {
    const c = new KeysCache(join(root, 'missing'));
    expect(c.writable).toBe(false);
    c.write(entry());
    expect(c.tryLock('alice', 1000)).not.toBeNull();
    expect(existsSync(join(root, 'missing'))).toBe(false);
  });

  test('a FIFO planted at an entry\'s name is read as nothing, without blocking', () => {
    mkdirSync(join(root, 'cache', 'keys'), { mode: 0o700 });
    execFileSync('mkfifo', [join(root, 'cache', 'keys', 'alice.json')]);
    expect(cache.read('alice', SCOPE)).toBeNull();
  });

  test('a symlink planted at an entry\'s name is not followed', () => {
    cache.write(entry());
    renameSync(join(root, 'cache', 'keys', 'alice.json'), join(root, 'elsewhere.json'));
    symlinkSync(join(root, 'elsewhere.json'), join(root, 'cache', 'keys', 'alice.json'));
    expect(cache.read('alice', SCOPE)).toBeNull();
  });

  test('a cache directory that cannot be created is not writable', () => {
    writeFileSync(join(root, 'file'), '');
    const c = new KeysCache(join(root, 'file', 'cache'));
    expect(c.writable).toBe(false);
    expect(c.read('alice', SCOPE)).toBeNull();
  });

  (process.getuid?.() === 0 ? test : test.skip)("someone else's cache directory is read but never written (needs root to chown)", () => {
    const theirs = join(root, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    const owner = new KeysCache(theirs);
    owner.write(entry());
    chownSync(theirs, 65534, 65534);
    const c = new KeysCache(theirs);
    expect(c.writable).toBe(false);
    expect(c.read('alice', SCOPE)).toEqual(entry());
    c.write(entry({ localUser: 'bob', iamUser: 'Bob' }));
    expect(existsSync(join(c.dir, 'bob.json'))).toBe(false);
    const release = c.tryLock('alice', 1_000);
    expect(release).toEqual(expect.any(Function));
    expect(existsSync(join(c.dir, 'alice.lock'))).toBe(false);
    release!();
  });
});
