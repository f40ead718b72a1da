/** The rows of `iam-ssh sessions` and their table. Pure. */
import type { UnrecordedLogin, VerifiedSession } from './verify';

export interface SessionRow {
  sid: string;
  user: string | null;
  iamUser: string | null;
  key: string | null;
  iamKeyId: string | null;
  source: string | null;
  start: string | null;
  durationS: number | null;
  exit: number | null;
  command: string | null;
  /** Bytes typed, shown, and (without a terminal) written to stderr, as the end record counts them. */
  bytes: { i: number; o: number; e: number } | null;
  /** `verified` when nothing was flagged, else `FLAGGED`; `UNRECORDED`: sshd let a recorded user in and no recording names that login. */
  status: 'verified' | 'FLAGGED' | 'UNRECORDED';
  flags: string[];
}

export function sessionRows(sessions: VerifiedSession[]): SessionRow[] {
  return sessions.map((s) => ({
    sid: s.sid,
    user: s.start?.user ?? null,
    iamUser: s.start?.iamUser ?? null,
    key: s.start?.key?.fp ?? null,
    iamKeyId: s.iamKeyId,
    source: s.start?.client ? `${s.start.client.addr}:${s.start.client.port}` : null,
    start: s.start?.time ?? null,
    durationS: s.end ? Math.round(s.end.t / 100) / 10 : null,
    exit: s.end?.exit ?? null,
    command: s.start ? (s.start.cmd ?? (s.start.tty ? 'login shell' : null)) : null,
    bytes: s.end?.bytes ?? null,
    status: s.flags.length === 0 ? 'verified' : 'FLAGGED',
    flags: s.flags,
  }));
}

export function unrecordedRows(logins: UnrecordedLogin[]): SessionRow[] {
  return logins.map((l) => ({
    sid: '-', user: l.user, iamUser: null, key: l.fp, iamKeyId: null, source: `${l.addr}:${l.port}`,
    start: new Date(Math.floor(l.realtimeUs / 1000)).toISOString(), durationS: null, exit: null, command: null, bytes: null,
    status: 'UNRECORDED', flags: [`sshd process ${l.sshdPid} accepted this login of a recorded user, and no recording names it`],
  }));
}

const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
// Control characters in a name or command must not reach the terminal.
const safe = (s: string | null) => (s ?? '-').replace(/[\x00-\x1f\x7f-\x9f]/g, '?');

export function formatSessions(rows: SessionRow[]): string {
  const header = ['SESSION', 'USER', 'IAM USER', 'KEY', 'SOURCE', 'START', 'DURATION', 'EXIT', 'STATUS', 'COMMAND'];
  const table = rows.map((r) => [
    r.sid, safe(r.user), safe(r.iamUser), clip(safe(r.iamKeyId ?? r.key), 24), safe(r.source), safe(r.start),
    r.durationS === null ? '-' : `${r.durationS}s`, r.exit === null ? '-' : String(r.exit), r.status, clip(safe(r.command), 40),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  let out = line(header) + table.map(line).join('');
  for (const r of rows) for (const f of r.flags) out += `  ${r.sid}: ${safe(f)}\n`;
  return out;
}
