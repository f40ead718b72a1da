/**
 * The journal entries replay and sessions need: the recorder's records, sshd's own lines (its
 * "Accepted publickey" vouches for a session) and `keys.served` (the IAM key id). From
 * `journalctl -a -o json` (-a: journalctl leaves fields over 4 KiB out otherwise), or from an
 * exported file of such lines. Read line by line; for one session only its lines are kept.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { RECORD_IDENT } from './wire';
import type { JournalEntry } from './verify';

export interface JournalQuery {
  file: string | null;
  since: string | null;
  /** Keep only this session's records (other entries needed for verification are kept). */
  sid: string | null;
}

const JOURNALCTL = ['/usr/bin/journalctl', '/bin/journalctl'];

export async function readJournal(q: JournalQuery): Promise<JournalEntry[]> {
  if (q.file) return collect(createReadStream(q.file), q.sid);
  const args = ['-a', '-o', 'json', '--no-pager', ...(q.since ? ['--since', q.since] : []),
    `SYSLOG_IDENTIFIER=${RECORD_IDENT}`, '+', 'SYSLOG_IDENTIFIER=iam-ssh', '+', '_COMM=sshd', '+', '_COMM=sshd-session'];
  const child = spawn(JOURNALCTL.find(Boolean)!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
  child.on('error', (e) => (err += e.message));
  const entries = await collect(child.stdout, q.sid);
  if ((await exited) !== 0) throw new Error(`journalctl failed: ${err.trim().slice(0, 500)}`);
  return entries;
}

async function collect(input: Readable, sid: string | null): Promise<JournalEntry[]> {
  const out: JournalEntry[] = [];
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (line.trim() === '' || (sid && line.includes(RECORD_IDENT) && !line.includes(sid))) continue;
    try {
      const e: unknown = JSON.parse(line);
      if (typeof e === 'object' && e !== null && !Array.isArray(e)) out.push(e as JournalEntry);
    } catch {
      // not an entry: skipped
    }
  }
  return out;
}
