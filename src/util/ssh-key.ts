/**
 * Validation of SSH public key lines as IAM returns them (`GetSSHPublicKey --encoding SSH`).
 *
 * What we print goes verbatim into sshd's authorized_keys parser, where a leading
 * `command=...`/`from=...` option or a second line would change what the key may do.
 * So a body is accepted only when it is exactly one `type base64 [comment]` line whose
 * base64 decodes to a well-formed wire-format key of that same type.
 */
import { sha256 } from './sha256';

const KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** OpenSSH refuses RSA keys under 1024 bits; IAM itself requires 2048. */
const RSA_MIN_BITS = 2048;
const MAX_LINE = 16 * 1024;

export interface PublicKey {
  type: KeyType;
  /** The base64 blob, as given. */
  blob: string;
  comment: string;
  /** `SHA256:...` as ssh-keygen -l and sshd's logs print it. */
  fingerprint: string;
  /** The canonical line we serve: `type blob [comment]`. */
  line: string;
}

export type KeyResult = { ok: true; key: PublicKey } | { ok: false; reason: string };

class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  bytes(): Buffer {
    if (this.off + 4 > this.buf.length) throw new Error('truncated length');
    const len = this.buf.readUInt32BE(this.off);
    this.off += 4;
    if (len > this.buf.length - this.off) throw new Error('truncated field');
    const out = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    return out;
  }
  string(): string {
    return this.bytes().toString('latin1');
  }
  done(): boolean {
    return this.off === this.buf.length;
  }
}

/** Bits of an unsigned big-endian mpint (leading zero bytes ignored). */
function mpintBits(b: Buffer): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
}

const ECDSA_POINT: Record<string, number> = { nistp256: 65, nistp384: 97, nistp521: 133 };

/** Checks the decoded wire format for one key type; throws with a reason. */
function checkBlob(type: KeyType, blob: Buffer): void {
  const r = new Reader(blob);
  if (r.string() !== type) throw new Error('key type inside the blob differs from the line');
  switch (type) {
    case 'ssh-ed25519':
    case 'sk-ssh-ed25519@openssh.com':
      if (r.bytes().length !== 32) throw new Error('ed25519 key is not 32 bytes');
      if (type.startsWith('sk-')) r.string();
      break;
    case 'ssh-rsa': {
      const e = r.bytes();
      const n = r.bytes();
      // mpints are signed: a set high bit without a leading zero byte is a negative number.
      if ((e[0]! & 0x80) !== 0 || (n[0]! & 0x80) !== 0) throw new Error('negative RSA parameter');
      if (mpintBits(e) < 2) throw new Error('bad RSA exponent');
      if (mpintBits(n) < RSA_MIN_BITS) throw new Error(`RSA key under ${RSA_MIN_BITS} bits`);
      break;
    }
    default: {
      const curve = r.string();
      if (!type.includes(curve)) throw new Error('ECDSA curve differs from the key type');
      const point = r.bytes();
      if (point.length !== ECDSA_POINT[curve] || point[0] !== 4) throw new Error('bad ECDSA point');
      if (type.startsWith('sk-')) r.string();
    }
  }
  if (!r.done()) throw new Error('trailing bytes in the key blob');
}

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + Buffer.from(sha256(blob)).toString('base64').replace(/=+$/, '');
}

/** Parses one public key line, as an IAM key body, into a canonical key or a reason to drop it. */
export function parsePublicKey(body: string): KeyResult {
  if (typeof body !== 'string' || body.length === 0) return { ok: false, reason: 'empty' };
  if (body.length > MAX_LINE) return { ok: false, reason: 'too long' };
  const text = body.replace(/\r?\n$/, ''); // one trailing newline is harmless
  // Any control character (a newline above all) could smuggle a second authorized_keys line.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) return { ok: false, reason: 'control character in key' };
  const parts = text.trim().split(/[ \t]+/);
  const [type, b64, ...rest] = parts;
  if (!type || !(KEY_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reason: 'unknown key type or leading options' };
  }
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    return { ok: false, reason: 'key data is not base64' };
  }
  const blob = Buffer.from(b64, 'base64');
  try {
    checkBlob(type as KeyType, blob);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const comment = rest.join(' ');
  const line = comment ? `${type} ${b64} ${comment}` : `${type} ${b64}`;
  return { ok: true, key: { type: type as KeyType, blob: b64, comment, fingerprint: fingerprintOf(blob), line } };
}

/** sshd's %f is `SHA256:...`; accept it with or without the prefix. */
export function sameFingerprint(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/^SHA256:/, '').replace(/=+$/, '');
  return norm(a) === norm(b);
}
