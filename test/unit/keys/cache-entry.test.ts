import { freshness, decodeEntry, authScope, type KeysCacheEntry } from '../../../src/keys/cache-entry';
import { generateSshKey, malformedLine, type WireKey } from '../../helpers/ssh-wire';

const scopeOf = (g: string[], e: string | null, r: string | null = null) => authScope({ authorizedGroups: g, awsEndpointUrl: e, assumeRole: r });

const TTL = 60_000;
const MAX_STALE = 3_600_000;
const NOW = 1_750_000_000_000;
const SCOPE = scopeOf(['admins', 'ops'], null);

let ed: WireKey;
let ec: WireKey;
beforeAll(() => {
  ed = generateSshKey('ed25519', 'alice laptop');
  ec = generateSshKey('ecdsa-p256');
});

function entry(over: Partial<KeysCacheEntry> = {}): KeysCacheEntry {
  return {
    version: 1,
    fetchedAt: NOW - 1000,
    localUser: 'alice.smith',
    iamUser: 'Alice.Smith',
    scope: SCOPE,
    keys: [
      { id: 'APKAEXAMPLE1', line: ed.line, fingerprint: ed.fingerprint },
      { id: 'APKAEXAMPLE2', line: ec.line, fingerprint: ec.fingerprint },
    ],
    ...over,
  };
}

/** The entry as JSON, with any field overridden by a raw (possibly ill-typed) value. */
function text(over: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...entry(), ...over });
}

const decode = (t: string, user = 'alice.smith', scope = SCOPE) => decodeEntry(t, user, scope);

describe('freshness', () => {
  const at = (age: number) => freshness(entry({ fetchedAt: NOW - age }), NOW, TTL, MAX_STALE);

  test.each([
    [0, 'fresh'],
    [1, 'fresh'],
    [TTL - 1, 'fresh'],
    [TTL, 'stale'],
    [TTL + 1, 'stale'],
    [MAX_STALE - 1, 'stale'],
    [MAX_STALE, 'expired'],
    [MAX_STALE + 1, 'expired'],
    [100 * MAX_STALE, 'expired'],
  ])('age %d ms -> %s', (age, want) => {
    expect(at(age)).toBe(want);
  });

  test.each([
    [-1, 'stale'],
    [-(TTL - 1), 'stale'],
    [-TTL, 'expired'],
    [-TTL - 1, 'expired'],
    [-365 * 86_400_000, 'expired'],
  ])('a timestamp %d ms in the future -> %s (never fresh)', (age, want) => {
    expect(at(age)).toBe(want);
  });

  test('maxStale equal to ttl leaves no stale window', () => {
    const f = (age: number) => freshness(entry({ fetchedAt: NOW - age }), NOW, TTL, TTL);
    expect(f(TTL - 1)).toBe('fresh');
    expect(f(TTL)).toBe('expired');
  });
});

describe('decodeEntry accepts', () => {
  test('a well-formed entry, recomputing fingerprints', () => {
    const got = decode(text());
    expect(got).toEqual(entry());
  });

  test('the exact JSON KeysCache writes (with a trailing newline)', () => {
    expect(decode(JSON.stringify(entry()) + '\n')).toEqual(entry());
  });

  test('an entry with no keys', () => {
    expect(decode(text({ keys: [] }))?.keys).toEqual([]);
  });

  test('ignores a stored fingerprint and extra fields, and returns only known fields', () => {
    const raw = JSON.parse(text());
    raw.keys[0].fingerprint = 'SHA256:forged';
    raw.extra = 'x';
    const got = decode(JSON.stringify(raw));
    expect(got).not.toBeNull();
    expect(got!.keys[0]!.fingerprint).toBe(ed.fingerprint);
    expect(got).not.toHaveProperty('extra');
  });

  test('fetchedAt of 0 and in the future are numbers, so accepted (freshness judges them)', () => {
    expect(decode(text({ fetchedAt: 0 }))?.fetchedAt).toBe(0);
    expect(decode(text({ fetchedAt: NOW + 1e9 }))?.fetchedAt).toBe(NOW + 1e9);
  });
});

describe('decodeEntry rejects', () => {
  test.each([
    ['empty text', ''],
    ['bad JSON', '{"version":1,'],
    ['a JSON string', '"hello"'],
    ['JSON null', 'null'],
    ['a JSON array', '[]'],
    ['a JSON number', '1'],
  ])('%s', (_name, t) => {
    expect(decode(t)).toBeNull();
  });

  test.each([
    ['version 2', { version: 2 }],
    ['version "1"', { version: '1' }],
    ['no version', { version: undefined }],
    ['another local user', { localUser: 'bob' }],
    ['another scope', { scope: scopeOf(['admins'], null) }],
    ['a scope with another endpoint', { scope: scopeOf(['admins', 'ops'], 'http://127.0.0.1:5000') }],
    ['non-numeric fetchedAt', { fetchedAt: '1750000000000' }],
    ['null fetchedAt', { fetchedAt: null }],
    ['missing fetchedAt', { fetchedAt: undefined }],
    ['an invalid IAM user', { iamUser: 'a b' }],
    ['a non-string IAM user', { iamUser: 7 }],
    ['keys not an array', { keys: { 0: 'x' } }],
    ['keys missing', { keys: undefined }],
  ])('%s', (_name, over) => {
    expect(decode(text(over))).toBeNull();
  });

  test('a fetchedAt that JSON turns into null (NaN, Infinity)', () => {
    expect(decode(text({ fetchedAt: NaN }))).toBeNull();
    expect(decode(text({ fetchedAt: Infinity }))).toBeNull();
  });

  test('asked for an invalid local user, even when the file says the same', () => {
    expect(decode(text({ localUser: 'root' }), 'root')).toBeNull();
    expect(decode(text({ localUser: '../x' }), '../x')).toBeNull();
  });

  /** The entry with its first key changed. */
  const withKey = (k: Record<string, unknown>) => text({ keys: [{ id: 'APKAEXAMPLE1', line: ed.line, fingerprint: ed.fingerprint, ...k }] });

  test('the unchanged first key is accepted (control)', () => {
    expect(decode(withKey({}))).not.toBeNull();
  });

  test.each([
    ['a key line with options', () => `command="/bin/sh" ${ed.line}`],
    ['a key line with restrict', () => `restrict ${ed.line}`],
    ['two key lines', () => `${ed.line}\n${ec.line}`],
    ['a non-canonical line (tab separators)', () => ed.line.replace(/ /g, '\t')],
    ['a non-canonical line (trailing newline)', () => ed.line + '\n'],
    ['a non-canonical line (leading space)', () => ' ' + ed.line],
    ['a non-canonical line (double space)', () => ed.line.replace(' ', '  ')],
    ['a truncated key', () => malformedLine(ed, 'truncated')],
    ['a type-mismatched key', () => malformedLine(ed, 'type-mismatch')],
    ['an empty line', () => ''],
  ])('%s', (_name, line) => {
    expect(decode(withKey({ line: line() }))).toBeNull();
  });

  test.each([
    ['lower case', 'apkaexample'],
    ['empty', ''],
    ['with a slash', 'APKA/../X'],
    ['with a space', 'APKA X'],
    ['too long', 'A'.repeat(129)],
    ['a number', 12345],
    ['missing', undefined],
  ])('a bad key id: %s', (_name, id) => {
    expect(decode(withKey({ id }))).toBeNull();
  });

  test('a key that is not an object', () => {
    expect(decode(text({ keys: [null] }))).toBeNull();
    expect(decode(text({ keys: [ed.line] }))).toBeNull();
  });

  test('one bad key spoils the whole entry', () => {
    const raw = JSON.parse(text());
    raw.keys.push({ id: 'APKAEXAMPLE3', line: `from="*" ${ec.line}` });
    expect(decode(JSON.stringify(raw))).toBeNull();
  });

  test('a 128-character key id is still fine', () => {
    expect(decode(withKey({ id: 'A'.repeat(128) }))).not.toBeNull();
  });
});

describe('authScope', () => {
  test('independent of group order', () => {
    expect(scopeOf(['b', 'a', 'c'], null)).toBe(scopeOf(['a', 'c', 'b'], null));
    expect(scopeOf(['ops', 'admins'], 'http://x')).toBe(scopeOf(['admins', 'ops'], 'http://x'));
  });

  test('does not reorder the caller array', () => {
    const groups = ['b', 'a'];
    scopeOf(groups, null);
    expect(groups).toEqual(['b', 'a']);
  });

  test('changes with the groups and with the endpoint', () => {
    const base = scopeOf(['a', 'b'], null);
    expect(scopeOf(['a'], null)).not.toBe(base);
    expect(scopeOf(['a', 'b', 'c'], null)).not.toBe(base);
    expect(scopeOf(['a', 'b'], 'http://127.0.0.1:5000')).not.toBe(base);
    expect(scopeOf([], null)).not.toBe(scopeOf([''], null));
  });

  test('changes with the assumed role (another account); without one it is the format older caches carry', () => {
    expect(scopeOf(['a'], null, 'arn:aws:iam::111111111111:role/r')).not.toBe(scopeOf(['a'], null));
    expect(scopeOf(['a'], null, 'arn:aws:iam::111111111111:role/r')).not.toBe(scopeOf(['a'], null, 'arn:aws:iam::222222222222:role/r'));
    expect(scopeOf(['b', 'a'], null)).toBe('{"g":["a","b"],"e":""}');
  });

  test('group names cannot be joined into a collision', () => {
    expect(scopeOf(['a,b'], null)).not.toBe(scopeOf(['a', 'b'], null));
  });

  test('a null endpoint and an empty one are the same scope', () => {
    expect(scopeOf(['a'], null)).toBe(scopeOf(['a'], ''));
  });
});
