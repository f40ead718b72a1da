/**
 * Structured diagnostics: one JSON object per line on stderr, which journald tags with the
 * unit. Field names are stable; log shippers key on them. Where stderr is /dev/null (sshd's
 * AuthorizedKeysCommand, pam_exec), the lines go to journald under the identifier `iam-ssh`.
 */
import { JournalStream, PRIORITY, stderrIsDiscarded, stderrIsSocket } from './journal';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: Level, event: string, fields?: Record<string, unknown>): void;
  /** Waits (at most timeoutMs) until lines sent to journald have left the process. */
  flush?(timeoutMs: number): Promise<void>;
}

/**
 * journal 'auto': journald only where stderr is /dev/null; 'always': journald and, unless it
 * is /dev/null, stderr (notify-login: its record must reach the journal however PAM runs it).
 */
export function stderrLogger(cmd: string, write?: (line: string, level: Level) => void, journalMode: 'auto' | 'always' | 'login' = 'auto'): Logger {
  let journal: JournalStream | null = null;
  if (!write) {
    const discarded = stderrIsDiscarded();
    // 'login': a socket on stderr may be sshd's own journal stream (socket-activated `sshd -i -e`,
    // as on Flatcar), where the lines carry sshd's identifier: they go to ours as well. (It may
    // as well be a pipe Node made, so stderr keeps them too.)
    const toJournal = discarded || journalMode === 'always' || (journalMode === 'login' && stderrIsSocket());
    const stream = toJournal ? (journal = new JournalStream()) : null;
    write = (line, level) => {
      stream?.write(line.trimEnd(), PRIORITY[level]);
      if (!discarded) process.stderr.write(line);
    };
  }
  const out = write;
  return {
    log(level, event, fields = {}) {
      const record = { time: new Date().toISOString(), level, ident: 'iam-ssh', cmd, event, pid: process.pid, ...fields };
      out(JSON.stringify(record) + '\n', level);
    },
    async flush(timeoutMs) {
      if (journal) await journal.close(timeoutMs);
    },
  };
}

/** An Error's message without a stack, for a log field. */
export function errText(e: unknown): string {
  if (e instanceof Error) return (e.name && e.name !== 'Error' ? `${e.name}: ` : '') + e.message;
  return String(e);
}
