/** The manifest and body checks, each way a document can be wrong refused with its reason. */
import { parseTrustRoot } from '../../../src/snapshot/signature';
import { verifyBody, verifyManifestObject } from '../../../src/snapshot/verify';
import { canonicalJson } from '../../../src/snapshot/canonical-json';
import { keyPair, signed, snapshot, URL } from './fixtures';
import { generateKeyPairSync } from 'node:crypto';

const pair = keyPair();
const trust = parseTrustRoot(pair.pem);

describe('verifyManifestObject and verifyBody', () => {
  test('a good pair verifies, and the body decodes to the snapshot', () => {
    const s = snapshot();
    const { object, body } = signed(s, pair.privateKey);
    const m = verifyManifestObject(object, trust, URL);
    expect(verifyBody(body, m)).toEqual(s);
  });

  test('another key, a changed manifest byte, or a cut signature is refused', () => {
    const { object } = signed(snapshot(), keyPair().privateKey);
    expect(() => verifyManifestObject(object, trust, URL)).toThrow(/signature does not verify/);
    const good = JSON.parse(signed(snapshot(), pair.privateKey).object.toString('utf8'));
    const bytes = Buffer.from(good.manifest, 'base64').toString('utf8').replace('"serial":1700000000', '"serial":1700000009');
    expect(() => verifyManifestObject(Buffer.from(JSON.stringify({ ...good, manifest: Buffer.from(bytes).toString('base64') })), trust, URL)).toThrow(/signature/);
    expect(() => verifyManifestObject(Buffer.from(JSON.stringify({ ...good, signature: good.signature.slice(0, 20) })), trust, URL)).toThrow(/signature/);
  });

  test('not JSON, another algorithm, missing parts', () => {
    for (const text of ['', '<html/>', '[]', 'null', '{"manifest":"x"}']) expect(() => verifyManifestObject(Buffer.from(text), trust, URL)).toThrow();
    const good = JSON.parse(signed(snapshot(), pair.privateKey).object.toString('utf8'));
    expect(() => verifyManifestObject(Buffer.from(JSON.stringify({ ...good, algorithm: 'RSASSA_PSS_SHA_256' })), trust, URL)).toThrow(/ECDSA_SHA_256/);
  });

  test('a manifest published for another URL is refused, even under the right key', () => {
    const { object } = signed(snapshot(), pair.privateKey, 's3://fleet-access/staging/access.json');
    expect(() => verifyManifestObject(object, trust, URL)).toThrow(/published for s3:\/\/fleet-access\/staging/);
  });

  test('a body of another size, another hash, or another serial or scope than the manifest is refused', () => {
    const s = snapshot();
    const { object, body } = signed(s, pair.privateKey);
    const m = verifyManifestObject(object, trust, URL);
    expect(() => verifyBody(body.subarray(0, body.length - 1), m)).toThrow(/bytes, the manifest signs/);
    const flipped = Buffer.from(body);
    flipped[flipped.indexOf('bob')] = 'x'.charCodeAt(0);
    expect(() => verifyBody(flipped, m)).toThrow(/SHA-256/);
    const other = Buffer.from(canonicalJson({ ...s, serial: s.serial + 1 }));
    expect(() => verifyBody(other, { ...m, size: other.length, sha256: require('node:crypto').createHash('sha256').update(other).digest('hex') })).toThrow(/serial/);
  });

  test('only an ECDSA P-256 public key is a trust root', () => {
    expect(() => parseTrustRoot('not a pem')).toThrow(/not a PEM/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parseTrustRoot(rsa)).toThrow(/ECC_NIST_P256/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parseTrustRoot(p384)).toThrow(/ECC_NIST_P256/);
  });
});
