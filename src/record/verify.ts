/**
 * From journal entries to verified sessions. Pure.
 *
 * The recorder runs as the recorded user, so that user can write entries under the same
 * identifier with any MESSAGE. What the user cannot choose are journald's trusted fields: the
 * _PID, _UID and _BOOT_ID of the writing process, its _EXE, and the _STREAM_ID of the stream
 * connection. A session's records are trusted only when every one of them came over the start
 * record's stream from the process the start record names; the rest are flagged and dropped.
 * sshd's own "Accepted publickey" line (written by root) vouches for the user, source and key.
 */
import { parseRecord, RECORD_IDENT, type DataRecord, type EndRecord, type GapRecord, type StartRecord } from './wire';
import { sameFingerprint } from '../util/ssh-key';

/** One entry of `journalctl -o json`: every value a string (or, for binary fields, an array). */
export type JournalEntry = Record<string, unknown>;

export interface VerifyOptions {
  /** The recorder's executable: the start record's _EXE must be it (when journald gives _EXE). */
  expectedExe?: string | null;
}

export interface SshdLogin { user: string; addr: string; port: number; keyType: string; fp: string }

export interface VerifiedSession {
  sid: string;
  start: StartRecord | null;
  end: EndRecord | null;
  /** Data and gap records that passed, in sequence order. */
  records: (DataRecord | GapRecord)[];
  /** Wall clock of the start record in journald (µs since the epoch), else of the first record. */
  realtimeUs: number;
  /** Problems, each a sentence; empty when the recording is whole and every record is the recorder's. */
  flags: string[];
  /** Records dropped as not the recorder's. */
  forged: number;
  /** sshd's own record of this login, when found: it vouches for user, source and key. */
  sshd: SshdLogin | null;
  /** The IAM key id that `keys` served for the key sshd accepted, when logged. */
  iamKeyId: string | null;
  /** The start record is the recorder's and sshd vouches for it: `boot/pid` of that sshd process, else null. */
  sshdClaim: string | null;
}

const str = (e: JournalEntry, f: string): string | null => (typeof e[f] === 'string' ? (e[f] as string) : null);
const ACCEPTED = /^Accepted publickey for (\S+) from (\S+) port (\d+) ssh2: (\S+) (SHA256:\S+)/;
const TRUSTED = ['_PID', '_UID', '_BOOT_ID', '_STREAM_ID', '_EXE', '_COMM'] as const;

interface Parsed { entry: JournalEntry; record: ReturnType<typeof parseRecord> & object }

export function verifySessions(entries: readonly JournalEntry[], opts: VerifyOptions = {}): VerifiedSession[] {
  const bySid = new Map<string, Parsed[]>();
  const accepted = new Map<string, SshdLogin>();
  const served: JournalEntry[] = [];
  for (const e of entries) {
    const ident = str(e, 'SYSLOG_IDENTIFIER');
    const msg = str(e, 'MESSAGE');
    if (msg === null) continue;
    const comm = str(e, '_COMM');
    if ((comm === 'sshd' || comm === 'sshd-session') && str(e, '_UID') === '0') {
      const m = ACCEPTED.exec(msg);
      if (m) accepted.set(`${str(e, '_BOOT_ID')}/${str(e, '_PID')}`, { user: m[1]!, addr: m[2]!, port: Number(m[3]), keyType: m[4]!, fp: m[5]! });
      continue;
    }
    if (ident === 'iam-ssh' && msg.includes('"keys.served"')) served.push(e);
    if (ident !== RECORD_IDENT) continue;
    const record = parseRecord(msg);
    if (!record) continue;
    const list = bySid.get(record.sid) ?? [];
    list.push({ entry: e, record });
    bySid.set(record.sid, list);
  }
  // One connection may carry several sessions (multiplexing, scp beside a shell): each names the same sshd process.
  return [...bySid].map(([sid, list]) => verifyOne(sid, list, accepted, served, opts)).sort((a, b) => a.realtimeUs - b.realtimeUs);
}

export interface UnrecordedLogin extends SshdLogin { sshdPid: number; realtimeUs: number }

/**
 * sshd's logins of `recorded` users for which no session names the sshd process: the recorder
 * never started (code the user put before it, journald down with RECORD_JOURNAL_DOWN=allow, a
 * login before the user joined the group).
 */
export function unrecordedLogins(entries: readonly JournalEntry[], sessions: readonly VerifiedSession[], recorded: ReadonlySet<string>): UnrecordedLogin[] {
  const claimed = new Set(sessions.flatMap((s) => (s.sshdClaim ? [s.sshdClaim] : [])));
  const out: UnrecordedLogin[] = [];
  for (const e of entries) {
    const comm = str(e, '_COMM');
    if ((comm !== 'sshd' && comm !== 'sshd-session') || str(e, '_UID') !== '0') continue;
    const m = ACCEPTED.exec(str(e, 'MESSAGE') ?? '');
    const pid = Number(str(e, '_PID'));
    if (!m || !recorded.has(m[1]!) || claimed.has(`${str(e, '_BOOT_ID')}/${pid}`)) continue;
    out.push({ user: m[1]!, addr: m[2]!, port: Number(m[3]), keyType: m[4]!, fp: m[5]!, sshdPid: pid, realtimeUs: Number(str(e, '__REALTIME_TIMESTAMP') ?? 0) });
  }
  return out;
}

function verifyOne(sid: string, list: Parsed[], accepted: Map<string, SshdLogin>, served: JournalEntry[], opts: VerifyOptions): VerifiedSession {
  const flags: string[] = [];
  const starts = list.filter((p) => p.record.k === 'start');
  // The genuine start is the first one journald received; any other is forged.
  const startP = starts[0] ?? null;
  const start = startP ? (startP.record as StartRecord) : null;
  let forged = starts.length > 1 ? starts.length - 1 : 0;
  if (!startP) flags.push('no start record: who, from where and with which key is unknown');
  const realtime = (p: Parsed | undefined) => Number(str(p?.entry ?? {}, '__REALTIME_TIMESTAMP') ?? 0);
  if (startP && start) {
    if (str(startP.entry, '_PID') !== String(start.pid)) {
      flags.push(`start record written by pid ${str(startP.entry, '_PID')}, not by the pid it names (${start.pid})`);
    }
    if (str(startP.entry, '_UID') !== String(start.uid)) flags.push(`start record written by uid ${str(startP.entry, '_UID')}, not by the user's uid ${start.uid}`);
    const exe = str(startP.entry, '_EXE');
    if (opts.expectedExe && exe !== null && exe !== opts.expectedExe) flags.push(`start record written by ${exe}, not by ${opts.expectedExe}`);
  }
  const fromRecorder = (p: Parsed) => startP !== null && TRUSTED.every((f) => str(p.entry, f) === str(startP.entry, f));

  const kept: (DataRecord | GapRecord | EndRecord)[] = [];
  for (const p of list) {
    if (p === startP || p.record.k === 'start') continue;
    if (!fromRecorder(p)) {
      forged++;
      continue;
    }
    kept.push(p.record as DataRecord | GapRecord | EndRecord);
  }
  if (forged > 0) flags.push(`${forged} forged record(s) with this session id, not written by the recorder's process and stream: ignored`);
  kept.sort((a, b) => a.seq - b.seq);
  const seen = new Set<number>();
  let lastT = 0;
  let expect = 1;
  let missing = 0;
  let backwards = false;
  const records: (DataRecord | GapRecord)[] = [];
  let end: EndRecord | null = null;
  for (const r of kept) {
    if (seen.has(r.seq)) {
      flags.push(`sequence number ${r.seq} appears twice`);
      continue;
    }
    seen.add(r.seq);
    if (r.seq > expect) missing += r.seq - expect;
    expect = r.seq + 1;
    if (r.t < lastT) backwards = true;
    lastT = Math.max(lastT, r.t);
    if (r.k === 'end') end = r;
    else if (end) flags.push(`record ${r.seq} follows the end record`);
    else records.push(r);
  }
  if (missing > 0) flags.push(`${missing} record(s) missing from the journal (deleted, rotated away or rate-limited)`);
  if (backwards) flags.push('record times go backwards');
  const gaps = records.filter((r): r is GapRecord => r.k === 'gap');
  if (gaps.length > 0) {
    const lost = gaps.reduce((n, g) => n + g.lost.i + g.lost.o + g.lost.e, 0);
    flags.push(`${gaps.length} gap(s): ${lost} bytes not recorded while the journal was slow`);
  }
  if (start && !end) flags.push('no end record: the recorder was killed or the host stopped (the session itself ended with it)');
  // A disconnect ends script through the recorder ("ended on SIGHUP from sshd"); a kill from elsewhere does not.
  if (end && /^script was killed/.test(end.reason)) flags.push(`session ended: ${end.reason}`);

  let sshd: SshdLogin | null = null;
  if (start) {
    if (start.sshdPid === null) flags.push('not started by sshd: the recorder was run by hand inside another session');
    else {
      sshd = accepted.get(`${str(startP!.entry, '_BOOT_ID')}/${start.sshdPid}`) ?? null;
      if (!sshd) flags.push(`sshd's "Accepted publickey" line of process ${start.sshdPid} is not in the journal read`);
      else {
        if (sshd.user !== start.user) flags.push(`sshd accepted ${sshd.user}, the start record names ${start.user}`);
        if (!start.key || !sameFingerprint(sshd.fp, start.key.fp)) flags.push(`sshd accepted key ${sshd.fp}, the start record names ${start.key?.fp ?? 'none'}`);
        if (!start.client || start.client.addr !== sshd.addr || start.client.port !== sshd.port) flags.push(`sshd accepted a login from ${sshd.addr} port ${sshd.port}, the start record names another source`);
      }
    }
  }
  const startFlags = flags.filter((f) => /^start record|sshd|not started by sshd/.test(f));
  const sshdClaim = start && sshd && startFlags.length === 0 ? `${str(startP!.entry, '_BOOT_ID')}/${start.sshdPid}` : null;
  return { sid, start, end, records, realtimeUs: realtime(startP ?? list[0]), flags, forged, sshd, iamKeyId: start ? keyIdOf(start, served) : null, sshdClaim };
}

/** The IAM key id of the last `keys.served` for this user and key, written by another uid than the user's. */
function keyIdOf(start: StartRecord, served: JournalEntry[]): string | null {
  if (!start.key) return null;
  let id: string | null = null;
  for (const e of served) {
    if (str(e, '_UID') === String(start.uid)) continue;
    try {
      const m = JSON.parse(str(e, 'MESSAGE')!) as Record<string, unknown>;
      if (m.user === start.user && typeof m.requested === 'string' && sameFingerprint(m.requested, start.key.fp) && typeof m.matchedKeyId === 'string') id = m.matchedKeyId;
    } catch {
      // not JSON: not a keys line
    }
  }
  return id;
}
