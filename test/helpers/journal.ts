/**
 * A stand-in for journald's stream socket inside a MountNamespace (its /run is a private
 * tmpfs): a node process listening on /run/systemd/journal/stdout that reports every
 * connection's header and lines, and half-closes each connection at once, as journald does.
 * journald itself cannot run there; the protocol is the same.
 */
import type { ChildProcess } from 'node:child_process';
import type { MountNamespace } from './namespace';

// Fixed text: no test input is interpolated. Each connection is printed as one JSON string.
const LISTENER = `
const net = require('net'), fs = require('fs');
const P = '/run/systemd/journal/stdout';
fs.mkdirSync('/run/systemd/journal', { recursive: true });
try { fs.unlinkSync(P); } catch {}
// As journald does, the sending side is shut down at once: a client must keep writing after that.
const srv = net.createServer({ allowHalfOpen: true }, (s) => { s.end(); let b = ''; s.on('data', (d) => (b += d)); s.on('close', () => process.stdout.write(JSON.stringify(b) + '\\n')); });
srv.listen(P, () => { fs.chmodSync(P, 0o666); process.stdout.write(JSON.stringify('ready') + '\\n'); });
`;

export interface JournalStreamRecord {
  identifier: string;
  /** Default priority of the stream (facility and level). */
  priority: number;
  /** Entries: level from the `<N>` prefix, then the text. */
  entries: { level: number; text: string }[];
}

export class FakeJournal {
  private out = '';
  private constructor(private readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d) => (this.out += d));
  }

  static async start(ns: MountNamespace): Promise<FakeJournal> {
    const j = new FakeJournal(ns.spawn(process.execPath, ['-e', LISTENER]));
    const until = Date.now() + 10_000;
    while (!j.out.includes('"ready"')) {
      if (Date.now() > until || j.proc.exitCode !== null) throw new Error('fake journal did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    return j;
  }

  /** Every stream received so far, parsed. */
  streams(): JournalStreamRecord[] {
    return this.out.split('\n').filter((l) => l && l !== '"ready"').map((l) => {
      const lines = (JSON.parse(l) as string).split('\n');
      const entries = lines.slice(7).filter((t) => t !== '').map((t) => {
        const m = /^<(\d)>(.*)$/.exec(t);
        return m ? { level: Number(m[1]), text: m[2]! } : { level: -1, text: t };
      });
      return { identifier: lines[0]!, priority: Number(lines[2]), entries };
    });
  }

  /** JSON records with this event, from streams of identifier `iam-ssh`. */
  events(event: string): { level: number; record: Record<string, unknown> }[] {
    return this.streams().filter((s) => s.identifier === 'iam-ssh').flatMap((s) => s.entries.map((e) => {
      try {
        return { level: e.level, record: JSON.parse(e.text) as Record<string, unknown> };
      } catch {
        return null;
      }
    })).filter((e): e is { level: number; record: Record<string, unknown> } => e !== null && e.record.event === event);
  }

  /** Waits (up to 5 s) until at least `count` records of the event arrived; the pipe is asynchronous. */
  async waitFor(event: string, count = 1): Promise<{ level: number; record: Record<string, unknown> }[]> {
    const until = Date.now() + 5000;
    while (this.events(event).length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.events(event);
  }

  clear(): void {
    this.out = '';
  }
}
