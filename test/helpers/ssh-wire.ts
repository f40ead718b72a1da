/**
 * Builds OpenSSH public key lines from real keys generated with node:crypto, independently of
 * src/util/ssh-key.ts: the key is exported as JWK and its wire blob (RFC 4253 / 5656 / 8709)
 * is assembled here by hand. Also makes malformed variants of a good key.
 */
import { createHash, generateKeyPairSync, type JsonWebKey } from 'node:crypto';

export type KeyKind = 'ed25519' | 'rsa2048' | 'rsa1024' | 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521';

export interface WireKey {
  kind: KeyKind;
  /** The SSH key type name, e.g. `ssh-ed25519`. */
  type: string;
  /** The fields of the blob after the type string, in wire order (raw bytes, before length prefixes). */
  fields: Buffer[];
  blob: Buffer;
  b64: string;
  comment: string;
  /** `type base64 [comment]` */
  line: string;
  /** `SHA256:...` without base64 padding, as ssh-keygen -l prints it. */
  fingerprint: string;
}

/** A length-prefixed SSH `string`. */
export function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** An unsigned big-endian integer as SSH `mpint` payload: minimal, with a 0 byte when the high bit is set. */
export function mpint(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length && unsigned[i] === 0) i++;
  const trimmed = unsigned.subarray(i);
  if (trimmed.length > 0 && trimmed[0]! & 0x80) return Buffer.concat([Buffer.from([0]), trimmed]);
  return Buffer.from(trimmed);
}

/** The wire blob: the type string followed by each field as an SSH string. */
export function encodeBlob(type: string, fields: Buffer[]): Buffer {
  return Buffer.concat([sshString(type), ...fields.map((f) => sshString(f))]);
}

export function fingerprintOfBlob(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

function b64url(s: string | undefined, name: string): Buffer {
  if (!s) throw new Error(`JWK without ${name}`);
  return Buffer.from(s, 'base64url');
}

/** Left-pads to a fixed length (JWK coordinates are fixed-length, but do not rely on it). */
function pad(b: Buffer, len: number): Buffer {
  return b.length >= len ? b : Buffer.concat([Buffer.alloc(len - b.length), b]);
}

const CURVES = {
  'ecdsa-p256': { jwk: 'P-256', ssh: 'nistp256', bytes: 32 },
  'ecdsa-p384': { jwk: 'P-384', ssh: 'nistp384', bytes: 48 },
  'ecdsa-p521': { jwk: 'P-521', ssh: 'nistp521', bytes: 66 },
} as const;

function typeAndFields(kind: KeyKind): { type: string; fields: Buffer[] } {
  if (kind === 'ed25519') {
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as JsonWebKey;
    return { type: 'ssh-ed25519', fields: [b64url(jwk.x, 'x')] };
  }
  if (kind === 'rsa2048' || kind === 'rsa1024') {
    const modulusLength = kind === 'rsa2048' ? 2048 : 1024;
    const jwk = generateKeyPairSync('rsa', { modulusLength }).publicKey.export({ format: 'jwk' }) as JsonWebKey;
    return { type: 'ssh-rsa', fields: [mpint(b64url(jwk.e, 'e')), mpint(b64url(jwk.n, 'n'))] };
  }
  const curve = CURVES[kind];
  const jwk = generateKeyPairSync('ec', { namedCurve: curve.jwk }).publicKey.export({ format: 'jwk' }) as JsonWebKey;
  const point = Buffer.concat([Buffer.from([4]), pad(b64url(jwk.x, 'x'), curve.bytes), pad(b64url(jwk.y, 'y'), curve.bytes)]);
  return { type: `ecdsa-sha2-${curve.ssh}`, fields: [Buffer.from(curve.ssh, 'latin1'), point] };
}

/** Assembles a WireKey from a type and fields (which need not be valid). */
export function wireKey(kind: KeyKind, type: string, fields: Buffer[], comment = ''): WireKey {
  const blob = encodeBlob(type, fields);
  const b64 = blob.toString('base64');
  return {
    kind,
    type,
    fields,
    blob,
    b64,
    comment,
    line: comment ? `${type} ${b64} ${comment}` : `${type} ${b64}`,
    fingerprint: fingerprintOfBlob(blob),
  };
}

/** A fresh, real key of the given kind as an OpenSSH public key line. */
export function generateSshKey(kind: KeyKind, comment = ''): WireKey {
  const { type, fields } = typeAndFields(kind);
  return wireKey(kind, type, fields, comment);
}

export type Malformation =
  /** The base64 of a blob cut short in its last field. */
  | 'truncated'
  /** Extra bytes after the last field. */
  | 'trailing-bytes'
  /** The line names another type than the blob carries. */
  | 'type-mismatch'
  /** A character outside the base64 alphabet. */
  | 'bad-base64'
  /** Well-formed wire format whose last field is one byte short (ed25519 length, RSA size, EC point). */
  | 'short-field'
  /** ECDSA only: a compressed-point prefix instead of 0x04. */
  | 'bad-point'
  /** ECDSA only: the curve field names another curve than the type. */
  | 'curve-mismatch';

/** A malformed variant of a good key's line (the comment is kept). */
export function malformedLine(key: WireKey, how: Malformation): string {
  const withComment = (type: string, b64: string) => (key.comment ? `${type} ${b64} ${key.comment}` : `${type} ${b64}`);
  const reencode = (blob: Buffer) => withComment(key.type, blob.toString('base64'));
  const last = key.fields.length - 1;
  switch (how) {
    case 'truncated':
      return reencode(key.blob.subarray(0, key.blob.length - 3));
    case 'trailing-bytes':
      return reencode(Buffer.concat([key.blob, sshString('x')]));
    case 'type-mismatch':
      return withComment(key.type === 'ssh-rsa' ? 'ssh-ed25519' : 'ssh-rsa', key.b64);
    case 'bad-base64':
      return withComment(key.type, key.b64.slice(0, 8) + '!' + key.b64.slice(9));
    case 'short-field': {
      const fields = key.fields.map((f, i) => (i === last ? f.subarray(0, f.length - 1) : f));
      return reencode(encodeBlob(key.type, fields));
    }
    case 'bad-point':
    case 'curve-mismatch': {
      if (!key.type.startsWith('ecdsa-')) throw new Error(`${how} applies to ECDSA keys only`);
      const [curve, point] = key.fields as [Buffer, Buffer];
      if (how === 'bad-point') return reencode(encodeBlob(key.type, [curve, Buffer.concat([Buffer.from([2]), point.subarray(1)])]));
      const other = curve.toString('latin1') === 'nistp256' ? 'nistp384' : 'nistp256';
      return reencode(encodeBlob(key.type, [Buffer.from(other, 'latin1'), point]));
    }
  }
}
