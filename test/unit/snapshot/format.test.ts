/** The snapshot's strict decoder: each malformed part refuses the whole document. Canonical JSON and S3 URLs. */
import { decodeSnapshot, decodeScope, encodeSnapshot, type AccessSnapshot } from '../../../src/snapshot/format';
import { canonicalJson } from '../../../src/snapshot/canonical-json';
import { bodyKey, isExpectedBodyKey, parseS3Url } from '../../../src/snapshot/s3-url';
import { keyPair, signed, snapshot } from './fixtures';

const pair = keyPair();

function decodeWith(change: (s: Record<string, unknown>) => void): () => AccessSnapshot {
  const s = snapshot();
  const { manifest } = signed(s, pair.privateKey);
  const doc = JSON.parse(encodeSnapshot(s));
  change(doc);
  return () => decodeSnapshot(JSON.stringify(doc), manifest);
}

describe('decodeSnapshot', () => {
  test('the encoded snapshot decodes to itself', () => {
    expect(decodeWith(() => {})()).toEqual(snapshot());
  });

  const users = (d: Record<string, unknown>) => d.users as Record<string, unknown>[];
  test.each<[string, (d: Record<string, unknown>) => void, RegExp]>([
    ['another format', (d) => void (d.format = 'x'), /format/],
    ['version 2', (d) => void (d.version = 2), /format or version/],
    ['another serial', (d) => void (d.serial = 5), /serial/],
    ['another time', (d) => void (d.generatedAt = '2020-01-01T00:00:00.000Z'), /time/],
    ['a wider scope', (d) => void ((d.scope as { authorizedGroups: string[] }).authorizedGroups = ['ssh-admins', 'ssh-users']), /scope/],
    ['users not a list', (d) => void (d.users = {}), /users is not a list/],
    ['a user name IAM does not allow', (d) => void (users(d)[0]!.name = 'alice smith'), /invalid name/],
    ['an empty user id', (d) => void (users(d)[0]!.id = ''), /invalid id/],
    ['a group outside the scope', (d) => void (users(d)[0]!.groups = ['root', 'ssh-users']), /invalid name/],
    ['a user in no authorized group', (d) => void (users(d)[1]!.groups = ['ssh-admins']), /no authorized group/],
    ['groups not sorted', (d) => void (users(d)[0]!.groups = ['ssh-users', 'ssh-admins']), /sorted/],
    ['a key with options', (d) => void ((users(d)[0]!.keys as { key: string }[])[0]!.key = `command="/bin/sh" ${(users(d)[0]!.keys as { key: string }[])[0]!.key}`), /not a valid public key/],
    ['a key of two lines', (d) => void ((users(d)[0]!.keys as { key: string }[])[0]!.key += '\nssh-ed25519 AAAA'), /not a valid public key/],
    ['a bad key id', (d) => void ((users(d)[0]!.keys as { id: string }[])[0]!.id = '../x'), /invalid id/],
    ['users out of order', (d) => void (d.users = [...users(d)].reverse()), /sorted and unique/],
    ['the same user twice', (d) => void (d.users = [users(d)[0], { ...users(d)[0], name: 'alicf' }]), /same id/],
  ])('refuses %s', (_what, change, reason) => {
    expect(decodeWith(change)).toThrow(reason);
  });

  test('decodeScope: allUsers must agree with the authorized groups, which must be read groups', () => {
    const base = snapshot().scope;
    expect(decodeScope(base)).toEqual(base);
    expect(() => decodeScope({ ...base, allUsers: true })).toThrow(/contradicts/);
    expect(() => decodeScope({ ...base, authorizedGroups: ['other'] })).toThrow(/not all in scope.groups/);
    expect(() => decodeScope({ ...base, account: '12' })).toThrow(/account/);
    expect(() => decodeScope({ ...base, role: 'x' })).toThrow(/role/);
    expect(() => decodeScope(null)).toThrow(/not an object/);
  });
});

describe('canonicalJson', () => {
  test('keys sorted at every level, arrays kept in order, undefined left out', () => {
    expect(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }], u: undefined })).toBe('{"a":[{"c":"x","d":null}],"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(() => canonicalJson({ n: Infinity })).toThrow();
    expect(() => canonicalJson({ f: () => 1 })).toThrow();
  });
});

describe('SNAPSHOT_URL', () => {
  test('parses s3://bucket/key and refuses anything else', () => {
    expect(parseS3Url('s3://fleet-access/prod/access.json')).toEqual({ bucket: 'fleet-access', key: 'prod/access.json' });
    for (const bad of ['https://x/y', 's3://fleet-access', 's3://fleet-access/', 's3://Fleet/x', 's3://b/x', 's3://fleet/a//b', 's3://fleet/../x', 's3://fleet/a/', 's3://fleet/a\nb']) {
      expect(() => parseS3Url(bad)).toThrow();
    }
  });

  test('the body key carries the serial and hash the manifest signs', () => {
    const sha = 'a'.repeat(64);
    expect(bodyKey('prod/access.json', 42, sha)).toBe(`prod/access.json.d/000000000042-${sha}.json`);
    expect(isExpectedBodyKey('prod/access.json', bodyKey('prod/access.json', 42, sha), 42, sha)).toBe(true);
    expect(isExpectedBodyKey('prod/access.json', bodyKey('staging/access.json', 42, sha), 42, sha)).toBe(false);
    expect(isExpectedBodyKey('prod/access.json', bodyKey('prod/access.json', 41, sha), 42, sha)).toBe(false);
  });
});
