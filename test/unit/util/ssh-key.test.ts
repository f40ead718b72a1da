import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePublicKey, sameFingerprint, fingerprintOf, type PublicKey } from '../../../src/util/ssh-key';
import { generateSshKey, malformedLine, wireKey, mpint, type KeyKind, type WireKey } from '../../helpers/ssh-wire';

/** The parsed key, failing the test with the reason when it was rejected. */
function accept(line: string): PublicKey {
  const r = parsePublicKey(line);
  if (!r.ok) throw new Error(`rejected (${r.reason}): ${JSON.stringify(line.slice(0, 120))}`);
  return r.key;
}

/** The rejection reason, failing the test when the line was accepted. */
function reject(line: string): string {
  const r = parsePublicKey(line);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(line.slice(0, 120))}`);
  expect(typeof r.reason).toBe('string');
  expect(r.reason.length).toBeGreaterThan(0);
  return r.reason;
}

const GOOD: KeyKind[] = ['ed25519', 'rsa2048', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'];
const keys = new Map<KeyKind, WireKey>();
const key = (k: KeyKind): WireKey => keys.get(k)!;
const ed = () => key('ed25519');

beforeAll(() => {
  for (const k of [...GOOD, 'rsa1024' as const]) keys.set(k, generateSshKey(k, `${k}@test`));
});

describe('accepts real keys of every supported type', () => {
  test.each(GOOD)('%s', (kind) => {
    const k = key(kind);
    const got = accept(k.line);
    expect(got.type).toBe(k.type);
    expect(got.blob).toBe(k.b64);
    expect(got.comment).toBe(`${kind}@test`);
    expect(got.line).toBe(k.line);
    expect(got.fingerprint).toBe(k.fingerprint);
    expect(got.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test('the RSA modulus carries the leading zero byte of a positive mpint', () => {
    const n = key('rsa2048').fields[1]!;
    expect(n[0]).toBe(0);
    expect(n[1]! & 0x80).toBe(0x80);
    expect(n.length).toBe(257);
  });

  test('an RSA 2048 modulus without the leading zero byte still counts its bits correctly', () => {
    // mpint() gives 0x00 || n; a 2048-bit n written with extra leading zeros is still 2048 bits
    const [e, n] = key('rsa2048').fields as [Buffer, Buffer];
    const padded = wireKey('rsa2048', 'ssh-rsa', [e, Buffer.concat([Buffer.alloc(3), n])]);
    expect(accept(padded.line).fingerprint).toBe(padded.fingerprint);
  });

  test('different keys have different fingerprints', () => {
    const fps = new Set(GOOD.map((k) => key(k).fingerprint));
    expect(fps.size).toBe(GOOD.length);
    expect(generateSshKey('ed25519').fingerprint).not.toBe(ed().fingerprint);
  });

  test('fingerprintOf hashes the decoded blob', () => {
    expect(fingerprintOf(ed().blob)).toBe(ed().fingerprint);
  });
});

describe('accepted line forms', () => {
  test('without a comment', () => {
    const line = `${ed().type} ${ed().b64}`;
    const k = accept(line);
    expect(k.comment).toBe('');
    expect(k.line).toBe(line);
  });

  test('a comment with spaces is kept in the canonical line', () => {
    const line = `${ed().type} ${ed().b64} Alice Smith laptop key`;
    const k = accept(line);
    expect(k.comment).toBe('Alice Smith laptop key');
    expect(k.line).toBe(line);
  });

  test.each(['\n', '\r\n'])('one trailing %j is dropped', (eol) => {
    const k = accept(ed().line + eol);
    expect(k.line).toBe(ed().line);
  });

  test('tabs as separators give a space-separated canonical line', () => {
    const k = accept(`${ed().type}\t${ed().b64}\tmy\tkey`);
    expect(k.line).toBe(`${ed().type} ${ed().b64} my key`);
    expect(k.comment).toBe('my key');
    expect(k.fingerprint).toBe(ed().fingerprint);
  });

  test('surrounding and repeated spaces are normalised', () => {
    const k = accept(`  ${ed().type}   ${ed().b64}  c  `);
    expect(k.line).toBe(`${ed().type} ${ed().b64} c`);
  });
});

describe('rejects', () => {
  const body = () => `${ed().type} ${ed().b64}`;

  const OPTIONS = 'unknown key type or leading options';
  test.each([
    ['command= option', () => `command="x" ${body()}`, OPTIONS],
    ['from= option', () => `from="10.0.0.0/8" ${body()}`, OPTIONS],
    ['no-pty,restrict options', () => `no-pty,restrict ${body()}`, OPTIONS],
    ['ssh-dss', () => `ssh-dss ${ed().b64}`, OPTIONS],
    ['an unknown type', () => `ssh-foo ${ed().b64}`, OPTIONS],
    ['whitespace only', () => '   ', OPTIONS],
    ['a type only', () => 'ssh-ed25519', 'key data is not base64'],
  ])('%s', (_name, line, reason) => {
    expect(reject(line())).toBe(reason);
  });

  test('the empty string', () => {
    expect(reject('')).toBe('empty');
  });

  test('non-string input', () => {
    expect(parsePublicKey(undefined as unknown as string).ok).toBe(false);
    expect(parsePublicKey(null as unknown as string).ok).toBe(false);
  });

  test('two keys joined by a newline', () => {
    const line = `${ed().line}\n${key('rsa2048').line}`;
    expect(reject(line)).toBe('control character in key');
    expect(reject(line + '\n')).toBe('control character in key');
  });

  test('two trailing newlines (only one is forgiven)', () => {
    expect(reject(ed().line + '\n\n')).toBe('control character in key');
  });

  test.each([
    ['an embedded CR', (l: string) => l.replace(' ', '\r')],
    ['a CR in the comment', (l: string) => l + '\rx'],
    ['a lone trailing CR', (l: string) => l + '\r'],
    ['a NUL', (l: string) => l + '\0'],
    ['a NUL inside the comment', (l: string) => l.replace('@', '\0')],
    ['an escape character', (l: string) => l + ' \x1b[2J'],
    ['DEL', (l: string) => l + '\x7f'],
    ['a leading newline', (l: string) => '\n' + l],
  ])('%s', (_name, mutate) => {
    expect(reject(mutate(ed().line))).toBe('control character in key');
  });

  test('garbage base64', () => {
    expect(reject(`${ed().type} not-base64!!`)).toBe('key data is not base64');
    expect(reject(`${ed().type} ${ed().b64.slice(1)}`)).toMatch(/base64|truncated|differs/);
    expect(reject(`${ed().type} ====`)).toBe('key data is not base64');
    expect(reject(`${ed().type} QUFB=A==`)).toBe('key data is not base64');
  });

  test('base64 that is not a key blob at all', () => {
    expect(reject(`ssh-ed25519 ${Buffer.from('hello world, this is not a key').toString('base64')}`)).toMatch(/truncated|differs/);
  });

  test('a truncated base64 string (length not a multiple of 4)', () => {
    expect(reject(`${ed().type} ${ed().b64.slice(0, -1)}`)).toBe('key data is not base64');
  });

  test.each(GOOD)('%s: line says one type, the blob another', (kind) => {
    expect(reject(malformedLine(key(kind), 'type-mismatch'))).toBe('key type inside the blob differs from the line');
  });

  test('ssh-ed25519 line with an ecdsa blob', () => {
    expect(reject(`ssh-ed25519 ${key('ecdsa-p256').b64}`)).toBe('key type inside the blob differs from the line');
  });

  test.each(GOOD)('%s: truncated blob', (kind) => {
    expect(reject(malformedLine(key(kind), 'truncated'))).toMatch(/^truncated/);
  });

  test.each(GOOD)('%s: trailing bytes after the key', (kind) => {
    expect(reject(malformedLine(key(kind), 'trailing-bytes'))).toBe('trailing bytes in the key blob');
  });

  test.each(GOOD)('%s: bad base64 character', (kind) => {
    expect(reject(malformedLine(key(kind), 'bad-base64'))).toBe('key data is not base64');
  });

  test.each([
    ['ed25519', 'ed25519 key is not 32 bytes'],
    ['rsa2048', 'RSA key under 2048 bits'],
    ['ecdsa-p256', 'bad ECDSA point'],
    ['ecdsa-p521', 'bad ECDSA point'],
  ] as const)('%s: last field one byte short', (kind, reason) => {
    expect(reject(malformedLine(key(kind), 'short-field'))).toBe(reason);
  });

  test.each(['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'] as const)('%s: compressed point, wrong curve', (kind) => {
    expect(reject(malformedLine(key(kind), 'bad-point'))).toBe('bad ECDSA point');
    expect(reject(malformedLine(key(kind), 'curve-mismatch'))).toBe('ECDSA curve differs from the key type');
  });

  test('RSA 1024 (too small)', () => {
    expect(reject(key('rsa1024').line)).toBe('RSA key under 2048 bits');
  });

  test('RSA with exponent 1', () => {
    const n = key('rsa2048').fields[1]!;
    expect(reject(wireKey('rsa2048', 'ssh-rsa', [mpint(Buffer.from([1])), n]).line)).toBe('bad RSA exponent');
  });

  test('a 20 KB line', () => {
    expect(reject(`${ed().line} ${'x'.repeat(20 * 1024)}`)).toBe('too long');
  });

  test('a huge length field does not read past the buffer', () => {
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.alloc(32)]);
    expect(reject(`ssh-ed25519 ${blob.toString('base64')}`)).toBe('truncated field');
  });
});

describe('sameFingerprint', () => {
  const fp = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
  test('with and without the SHA256: prefix', () => {
    expect(sameFingerprint(fp, fp)).toBe(true);
    expect(sameFingerprint(fp, fp.slice(7))).toBe(true);
    expect(sameFingerprint(fp.slice(7), fp)).toBe(true);
    expect(sameFingerprint(fp.slice(7), fp.slice(7))).toBe(true);
  });
  test('with base64 padding', () => {
    expect(sameFingerprint(fp + '=', fp)).toBe(true);
  });
  test('different fingerprints', () => {
    expect(sameFingerprint(fp, fp.slice(0, -1) + 't')).toBe(false);
    expect(sameFingerprint(fp, 'MD5:' + fp.slice(7))).toBe(false);
    expect(sameFingerprint(fp, '')).toBe(false);
    expect(sameFingerprint(fp, 'sha256:' + fp.slice(7))).toBe(false);
  });
  test('against generated keys', () => {
    expect(sameFingerprint(ed().fingerprint, accept(ed().line).fingerprint.slice(7))).toBe(true);
    expect(sameFingerprint(ed().fingerprint, key('rsa2048').fingerprint)).toBe(false);
  });
});

function hasSshKeygen(): boolean {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

(hasSshKeygen() ? describe : describe.skip)('agrees with ssh-keygen', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iam-ssh-keygen-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `ssh-keygen -lf` output: `bits SHA256:... comment (TYPE)`; returns the fingerprint. */
  const keygenFingerprint = (pub: string) => {
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub], { encoding: 'utf8' });
    const fp = out.split(' ')[1]!;
    expect(fp).toMatch(/^SHA256:/);
    return fp;
  };

  test.each([
    ['ed25519', []],
    ['rsa', ['-b', '2048']],
    ['ecdsa', ['-b', '256']],
    ['ecdsa', ['-b', '521']],
  ])('a key made by ssh-keygen -t %s %j', (type, extra) => {
    const base = join(dir, `k-${type}-${extra.join('')}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...extra, '-N', '', '-C', 'made by ssh-keygen', '-f', base], { stdio: 'ignore' });
    const line = readFileSync(`${base}.pub`, 'utf8');
    const k = accept(line);
    expect(k.fingerprint).toBe(keygenFingerprint(`${base}.pub`));
    expect(k.comment).toBe('made by ssh-keygen');
    expect(k.line).toBe(line.trimEnd());
  });

  test.each(GOOD)('ssh-keygen reads the test helper %s line to the same fingerprint', (kind) => {
    const pub = join(dir, `helper-${kind}.pub`);
    writeFileSync(pub, key(kind).line + '\n');
    expect(keygenFingerprint(pub)).toBe(key(kind).fingerprint);
    expect(accept(key(kind).line).fingerprint).toBe(key(kind).fingerprint);
  });
});
