/**
 * The recorder's own stream into journald (identifier `iam-ssh-record`): one record per line,
 * one line per journal entry, each stamped by journald with this process's _PID, _UID and the
 * stream's _STREAM_ID. It never stalls the session: when more than `bufferBytes` wait to reach
 * journald, data records are dropped and counted, and a gap record says how much once the
 * stream drains. Sequence numbers are given at write time, so the journal's are contiguous.
 */
import { connect, type Socket } from 'node:net';
import { RECORD_IDENT, STREAMS, encodeData, splitChunks, type Bytes, type SessionRecord, type Stream, type Unsequenced } from './wire';

export const JOURNAL_STREAM_SOCKET = '/run/systemd/journal/stdout';
/** Facility authpriv, level info: session records belong with sshd's own. */
const PRIORITY = (10 << 3) | 6;

export class RecordWriter {
  private seq = 0;
  private lost: Bytes = { i: 0, o: 0, e: 0 };
  private broken: Error | null = null;
  readonly bytes: Bytes = { i: 0, o: 0, e: 0 };
  gaps = 0;

  private constructor(
    private readonly socket: Socket,
    readonly sid: string,
    private readonly bufferBytes: number,
    private readonly clock: () => number,
  ) {
    socket.on('error', (e) => (this.broken ??= e));
    socket.on('close', () => (this.broken ??= new Error('journald closed the stream')));
    socket.on('drain', () => this.flushGap());
  }

  /** Connects within `timeoutMs`; rejects when journald's stream socket cannot be reached. */
  static open(sid: string, opts: { path?: string; bufferBytes: number; timeoutMs: number; clock: () => number }): Promise<RecordWriter> {
    return new Promise((resolve, reject) => {
      // journald shuts its sending side down at once (it never answers): half-open, or Node would end ours too.
      const s = connect({ path: opts.path ?? JOURNAL_STREAM_SOCKET, allowHalfOpen: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`journald did not accept a stream within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        // identifier, unit id, priority, level prefix, forward to syslog, kmsg, console
        s.write(`${RECORD_IDENT}\n\n${PRIORITY}\n0\n0\n0\n0\n`);
        resolve(new RecordWriter(s, sid, opts.bufferBytes, opts.clock));
      });
    });
  }

  /** The error that ended the stream, if any: from then on nothing more reaches the journal. */
  get failure(): Error | null {
    return this.broken;
  }

  /** Milliseconds since the session started, per the monotonic clock. */
  now(): number {
    return Math.round(this.clock() * 10) / 10;
  }

  /** Writes a control record (start, end) whatever the buffer holds: these must not be lost. */
  control(body: Unsequenced<SessionRecord>): void {
    this.settle();
    this.send(body);
  }

  /** Records what was dropped so far as a gap now, whatever the buffer holds (before the end record counts gaps). */
  settle(): void {
    this.flushGap(true);
  }

  /** Session data in bounded chunks; dropped (and counted) while the journal lags. */
  data(stream: Stream, buf: Buffer): void {
    this.bytes[stream] += buf.length;
    for (const piece of splitChunks(buf)) {
      if (this.broken || this.socket.writableLength > this.bufferBytes) {
        this.lost[stream] += piece.length;
        continue;
      }
      this.flushGap();
      this.send({ k: stream, sid: this.sid, t: this.now(), ...encodeData(piece) });
    }
  }

  private flushGap(force = false): void {
    if (!STREAMS.some((s) => this.lost[s] > 0)) return;
    if (!force && this.socket.writableLength > this.bufferBytes) return;
    const lost = this.lost;
    this.lost = { i: 0, o: 0, e: 0 };
    this.gaps++;
    this.send({ k: 'gap', sid: this.sid, t: this.now(), lost });
  }

  private send(body: Unsequenced<SessionRecord>): void {
    if (this.broken) return;
    const { k, sid, ...rest } = body as { k: string; sid: string } & Record<string, unknown>;
    const line = JSON.stringify({ k, sid, seq: this.seq++, ...rest });
    this.socket.write(line + '\n');
  }

  /** Resolves when every record has left for journald (true), or after timeoutMs (false). */
  close(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.broken) return resolve(false);
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve(false);
      }, timeoutMs);
      this.socket.end(() => {
        clearTimeout(timer);
        resolve(this.broken === null);
      });
    });
  }
}
