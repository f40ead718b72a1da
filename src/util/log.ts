/**
 * Structured diagnostics: one JSON object per line on stderr, which sshd copies to its log
 * and journald tags with the unit. Field names are stable; log shippers key on them.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: Level, event: string, fields?: Record<string, unknown>): void;
}

export function stderrLogger(cmd: string, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  return {
    log(level, event, fields = {}) {
      const record = { time: new Date().toISOString(), level, ident: 'iam-ssh', cmd, event, pid: process.pid, ...fields };
      write(JSON.stringify(record) + '\n');
    },
  };
}

/** An Error's message without a stack, for a log field. */
export function errText(e: unknown): string {
  if (e instanceof Error) return (e.name && e.name !== 'Error' ? `${e.name}: ` : '') + e.message;
  return String(e);
}
