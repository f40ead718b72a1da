/**
 * A line sink into journald's stream socket, under the identifier `iam-ssh`.
 *
 * sshd gives its AuthorizedKeysCommand, and pam_exec its program, a stderr that is /dev/null,
 * so the audit lines of `keys` and `notify-login` would be lost there. Node cannot speak to a
 * datagram socket (/dev/log, journald's native socket), but it can open journald's stream
 * socket, the one systemd connects services' stdout to: a short header names the identifier,
 * then every line is one journal entry. Missing journald (no socket) is silently tolerated.
 */
import { connect, type Socket } from 'node:net';
import { fstatSync, statSync } from 'node:fs';

const JOURNAL_STREAM_SOCKET = '/run/systemd/journal/stdout';
const JOURNAL_IDENT = 'iam-ssh';

/** syslog facility `authpriv` (10): login records belong with sshd's own. */
const AUTHPRIV = 10 << 3;
export const PRIORITY = { error: 3, warn: 4, notice: 5, info: 6, debug: 7 } as const;

export class JournalStream {
  private socket: Socket | null = null;
  private pending: string[] = [];
  private state: 'connecting' | 'open' | 'failed' = 'connecting';
  private readonly ready: Promise<void>;

  constructor(path: string = JOURNAL_STREAM_SOCKET, identifier: string = JOURNAL_IDENT) {
    this.ready = new Promise<void>((resolve) => {
      // journald shuts down its sending side of every stream it accepts: with the default
      // (allowHalfOpen false) Node would end ours too, and every later line would be lost.
      const s = connect({ path, allowHalfOpen: true });
      s.on('error', () => {
        this.state = 'failed';
        this.pending = [];
        s.destroy();
        resolve();
      });
      s.on('connect', () => {
        // identifier, unit id, default priority, level prefix, forward to syslog/kmsg/console
        s.write(`${identifier}\n\n${AUTHPRIV | PRIORITY.info}\n1\n0\n0\n0\n` + this.pending.join(''));
        this.pending = [];
        this.state = 'open';
        resolve();
      });
      s.unref(); // never keeps the process alive on its own
      this.socket = s;
    });
  }

  /** Queues one line (no newline inside) at a syslog level. */
  write(line: string, priority: number = PRIORITY.info): void {
    const text = `<${priority}>${line.replace(/[\r\n]+/g, ' ')}\n`;
    if (this.state === 'open') this.socket!.write(text);
    else if (this.state === 'connecting') this.pending.push(text);
  }

  /** Resolves when everything written has reached the socket, or after timeoutMs; true on success. */
  async close(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const done = (async () => {
      await this.ready;
      if (this.state !== 'open') return false;
      const s = this.socket!;
      return new Promise<boolean>((r) => s.end(() => r(true)));
    })();
    try {
      return await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** True when fd 2 is /dev/null or closed: what sshd and pam_exec give their programs. */
export function stderrIsDiscarded(): boolean {
  try {
    const err = fstatSync(2);
    return err.isCharacterDevice() && err.rdev === statSync('/dev/null').rdev;
  } catch {
    return true;
  }
}

/** True when fd 2 is a socket: a journal stream or syslog, never a person's terminal. */
export function stderrIsSocket(): boolean {
  try {
    return fstatSync(2).isSocket();
  } catch {
    return false;
  }
}
