/**
 * The records a session recording is made of, as they travel in journald's MESSAGE field: one
 * JSON object per journal entry, under the identifier `iam-ssh-record`. Pure: encoding, bounded
 * chunks, the parser that replay and sessions trust nothing beyond, and the filter that takes
 * util-linux script's own header and trailer out of its logs.
 */

export const RECORD_IDENT = 'iam-ssh-record';
/** Raw bytes per data record: 50 MB of output stays under journald's default burst (10,000 entries in 30 s). */
export const CHUNK_BYTES = 8192;
export const SESSION_ID = /^[0-9a-f]{24}$/;

/** Input, output, and (for commands without a terminal) stderr. */
export type Stream = 'i' | 'o' | 'e';
export const STREAMS: readonly Stream[] = ['i', 'o', 'e'];
export type Bytes = Record<Stream, number>;

export interface StartRecord {
  k: 'start'; v: 1; sid: string; seq: 0; t: 0;
  /** Wall clock at the start, ISO 8601. */
  time: string;
  user: string; uid: number;
  /** From sync's registry: the IAM user this account belongs to. */
  iamUser: string | null;
  /** The key sshd accepted (ExposeAuthInfo): algorithm and SHA256 fingerprint. */
  key: { type: string; fp: string } | null;
  client: { addr: string; port: number } | null;
  tty: boolean;
  /** SSH_ORIGINAL_COMMAND; null for a login shell. */
  cmd: string | null;
  /** The recorder's own PID, which journald's _PID must repeat on every record. */
  pid: number;
  /** The privileged sshd process that logged "Accepted publickey" for this login; null when the recorder was not started by sshd. */
  sshdPid: number | null;
  term: string | null; cols: number | null; rows: number | null;
  /** Whether data is recorded (always with a terminal; RECORD_COMMAND_DATA without). */
  data: boolean;
}
export interface DataRecord { k: Stream; sid: string; seq: number; t: number; d?: string; b?: string }
export interface GapRecord { k: 'gap'; sid: string; seq: number; t: number; lost: Bytes }
export interface EndRecord {
  k: 'end'; sid: string; seq: number; t: number;
  exit: number | null; signal: string | null;
  /** Why the session ended, in words (`exited`, `script was killed by SIGKILL`, ...). */
  reason: string;
  bytes: Bytes; gaps: number;
}
export type SessionRecord = StartRecord | DataRecord | GapRecord | EndRecord;

/** A record's body before the writer gives it its sequence number. */
export type Unsequenced<R> = R extends SessionRecord ? Omit<R, 'seq'> : never;

/** Data as readable text when it is UTF-8 that JSON does not inflate much, else base64. */
export function encodeData(buf: Uint8Array): { d: string } | { b: string } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = b.toString('utf8');
  // Text only if it encodes back to the same bytes: a cut or invalid sequence decodes to U+FFFD,
  // whose three bytes can even match the length of what they replaced.
  if (Buffer.from(text, 'utf8').equals(b) && JSON.stringify(text).length <= b.length * 1.5 + 2) return { d: text };
  return { b: b.toString('base64') };
}

export function decodeData(r: DataRecord): Buffer {
  if (typeof r.d === 'string') return Buffer.from(r.d, 'utf8');
  return Buffer.from(r.b ?? '', 'base64');
}

/** Splits into pieces of at most `max` bytes, each cut before a UTF-8 sequence rather than inside it. */
export function splitChunks(buf: Uint8Array, max = CHUNK_BYTES): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (buf.length - at > max) {
    let end = at + max;
    // Step back over continuation bytes (10xxxxxx), at most 3, to the start of the sequence.
    let back = end;
    while (back > end - 3 && back > at + 1 && (buf[back]! & 0xc0) === 0x80) back--;
    if ((buf[back]! & 0xc0) !== 0x80 && back > at) end = back;
    out.push(buf.subarray(at, end));
    at = end;
  }
  if (buf.length > at) out.push(buf.subarray(at));
  return out;
}

const HEADER = Buffer.from('Script started on ');
const TRAILER = /\nScript done on [^\n]{0,200}\]\n$/;

/**
 * util-linux script writes a "Script started on ..." line first and a "Script done on ...]"
 * line last into each log. The header is whatever precedes the first newline; a chunk that
 * ends like the trailer is held back until more data shows it was the user's own text.
 */
export class ScriptLogFilter {
  private headerDone = false;
  private headerBuf: Buffer = Buffer.alloc(0);
  private held: Buffer | null = null;

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (this.held) {
      out.push(this.held);
      this.held = null;
    }
    let data = chunk;
    if (!this.headerDone) {
      this.headerBuf = Buffer.concat([this.headerBuf, data]);
      const nl = this.headerBuf.indexOf(0x0a);
      const isHeader = this.headerBuf.subarray(0, HEADER.length).equals(HEADER.subarray(0, Math.min(HEADER.length, this.headerBuf.length)));
      if (!isHeader) {
        data = this.headerBuf;
      } else if (nl < 0 && this.headerBuf.length < 4096) {
        return out;
      } else {
        data = nl < 0 ? Buffer.alloc(0) : this.headerBuf.subarray(nl + 1);
      }
      this.headerDone = true;
      this.headerBuf = Buffer.alloc(0);
    }
    if (data.length === 0) return out;
    const tail = data.subarray(Math.max(0, data.length - 260)).toString('latin1');
    const m = TRAILER.exec(tail);
    if (m) {
      const cut = data.length - Buffer.byteLength(m[0], 'latin1');
      if (cut > 0) out.push(data.subarray(0, cut));
      this.held = data.subarray(cut);
    } else {
      out.push(data);
    }
    return out;
  }

  /** At the end of the log: a held trailer was script's and is dropped. */
  end(): Buffer[] {
    this.held = null;
    return [];
  }
}

const isInt = (x: unknown, min = 0): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min;
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const isStrOrNull = (x: unknown) => x === null || typeof x === 'string';
const isBytes = (x: unknown): x is Bytes =>
  typeof x === 'object' && x !== null && STREAMS.every((s) => isInt((x as Record<string, unknown>)[s]));

/** A journal MESSAGE as a session record, or null when it is not one (malformed, or another shape). */
export function parseRecord(message: string): SessionRecord | null {
  let r: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(message);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    r = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof r.sid !== 'string' || !SESSION_ID.test(r.sid) || !isInt(r.seq) || !isNum(r.t)) return null;
  switch (r.k) {
    case 'start': {
      const okKey = r.key === null || (typeof r.key === 'object' && typeof (r.key as Record<string, unknown>).fp === 'string' && typeof (r.key as Record<string, unknown>).type === 'string');
      const okClient = r.client === null || (typeof r.client === 'object' && typeof (r.client as Record<string, unknown>).addr === 'string' && isInt((r.client as Record<string, unknown>).port));
      const ok = r.v === 1 && r.seq === 0 && typeof r.time === 'string' && typeof r.user === 'string' && isInt(r.uid) && isStrOrNull(r.iamUser) &&
        okKey && okClient && typeof r.tty === 'boolean' && isStrOrNull(r.cmd) && isInt(r.pid, 1) && (r.sshdPid === null || isInt(r.sshdPid, 1)) &&
        isStrOrNull(r.term) && (r.cols === null || isInt(r.cols)) && (r.rows === null || isInt(r.rows)) && typeof r.data === 'boolean';
      return ok ? (r as unknown as StartRecord) : null;
    }
    case 'i': case 'o': case 'e':
      if (r.d !== undefined && typeof r.d !== 'string') return null;
      if (r.b !== undefined && (typeof r.b !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(r.b))) return null;
      return (r.d === undefined) === (r.b === undefined) ? null : (r as unknown as DataRecord);
    case 'gap':
      return isBytes(r.lost) ? (r as unknown as GapRecord) : null;
    case 'end':
      return (r.exit === null || isInt(r.exit)) && isStrOrNull(r.signal) && typeof r.reason === 'string' && isBytes(r.bytes) && isInt(r.gaps)
        ? (r as unknown as EndRecord) : null;
    default:
      return null;
  }
}
