/**
 * The SHA-256 that fingerprints keys on the login path, checked against OpenSSL's (node:crypto)
 * on the standard's examples, on every length around the padding boundaries and on random input.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha256 } from '../../../src/util/sha256';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const openssl = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test("FIPS 180-4's examples", () => {
  expect(hex(sha256(Buffer.from('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  expect(hex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  expect(hex(sha256(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

test('every length from 0 to 200 bytes (one, two and three blocks, each padding case)', () => {
  for (let n = 0; n <= 200; n++) {
    const input = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff);
    expect(hex(sha256(input))).toBe(openssl(input));
  }
});

test('a million bytes', () => {
  const input = new Uint8Array(1_000_000).fill(0x61);
  expect(hex(sha256(input))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
});

test('random input: the same digest as OpenSSL', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (input) => hex(sha256(input)) === openssl(input)), { numRuns: 500 });
});

test('a view into a larger buffer hashes only its own bytes', () => {
  const whole = Buffer.from('xxabcxx');
  expect(hex(sha256(whole.subarray(2, 5)))).toBe(openssl(Buffer.from('abc')));
});
