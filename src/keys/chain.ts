/**
 * KEYS_CHAIN_COMMAND: another AuthorizedKeysCommand (EC2 Instance Connect's) that `keys` runs
 * beside its own lookup, because sshd runs only one per connection. Its lines follow IAM's,
 * as the vendor wrote them: what they grant is the vendor's contract (EIC's keys expire after
 * 60 s and are checked by its own signature logic). Here they are bounded in size, printed only
 * when the command exits 0 (sshd's own rule for its command), and logged with their fingerprints.
 */
import type { ChildProcess } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatChainCommand, type ChainCommand } from '../config/values';
import { SYSTEM_PATH } from '../platform/os';
import { errText, type Logger } from '../util/log';
import { errnoText } from '../util/errno';
import { parsePublicKey } from '../util/ssh-key';

/** The most chained output passed on; sshd itself reads a key line of up to 16 KiB. */
export const CHAIN_MAX_BYTES = 64 * 1024;
const STDERR_MAX = 1024;
/** Set for the chained program: a `keys` started under it (a wrapper calling us) chains nothing. */
export const CHAINED_ENV = 'IAM_SSH_CHAINED';

/** A user name that cannot pass for an option or a path: what sshd resolved, within reason. */
const CHAIN_USER = /^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$/;
/** sshd's %f: SHA256 (the default) or MD5 (FingerprintHash md5). */
const FINGERPRINT = /^(SHA256:[A-Za-z0-9+/]{43}|MD5(:[0-9a-f]{2}){16})$/;

/** The arguments for one login; null when the user name is not one to hand to another program. */
export function chainArgv(cmd: ChainCommand, user: string, fingerprint: string | undefined): string[] | null {
  if (!CHAIN_USER.test(user)) return null;
  const fp = fingerprint !== undefined && FINGERPRINT.test(fingerprint) ? fingerprint : '';
  return cmd.args.map((a) => a.replace(/%([uf%])/g, (_, t: string) => (t === 'u' ? user : t === 'f' ? fp : '%')));
}

/**
 * The output's non-blank lines, each ending in a newline, bytes as they came (latin1 maps byte
 * to char). When the output was cut at the bound, the line the cut fell in is dropped whole.
 */
export function chainedLines(out: Buffer, truncated: boolean): string[] {
  const parts = out.toString('latin1').split('\n');
  const last = parts.pop()!;
  if (!truncated) parts.push(last);
  return parts.filter((l) => l.trim() !== '').map((l) => l + '\n');
}

/** The key's fingerprint in an authorized_keys line, options before it or not; null when none parses. */
function lineFingerprint(line: string): string | null {
  const words = line.trim().split(/[ \t]+/);
  for (let i = 0; i < words.length - 1; i++) {
    const r = parsePublicKey(words.slice(i).join(' '));
    if (r.ok) return r.key.fingerprint;
  }
  return null;
}

export interface ChainStat {
  uid: number;
  mode: number;
  isFile: boolean;
  isDirectory: boolean;
}

export interface ChainFs {
  realpath(path: string): string;
  stat(path: string): ChainStat;
}

const realFs: ChainFs = {
  realpath: (p) => realpathSync(p),
  stat: (p) => {
    const st = statSync(p);
    return { uid: st.uid, mode: st.mode & 0o7777, isFile: st.isFile(), isDirectory: st.isDirectory() };
  },
};

/**
 * Why the program must not run, or null: sshd's rule for AuthorizedKeysCommand. Resolved
 * (symlinks followed), it is a root-owned executable file that neither its group nor others may
 * write, in directories of which the same holds up to /. `self` (this executable) is refused:
 * keys would start itself at every login.
 */
export function unsafeChainProgram(program: string, fs: ChainFs = realFs, self: string | null = null): string | null {
  let resolved: string;
  try {
    resolved = fs.realpath(program);
  } catch (e) {
    return `${program} cannot be resolved: ${errnoText(e)}`;
  }
  if (self !== null) {
    let me: string | null = null;
    try {
      me = fs.realpath(self);
    } catch {}
    if (me === resolved) return `${program} is iam-ssh itself: keys would start itself at every login`;
  }
  for (let p = resolved; ; p = dirname(p)) {
    let st: ChainStat;
    try {
      st = fs.stat(p);
    } catch (e) {
      return `${p} cannot be read: ${errnoText(e)}`;
    }
    if (p === resolved && !st.isFile) return `${p} is not a regular file`;
    if (p === resolved && (st.mode & 0o111) === 0) return `${p} is not executable`;
    if (p !== resolved && !st.isDirectory) return `${p} is not a directory`;
    if (st.uid !== 0) return `${p} is owned by uid ${st.uid}, not root`;
    if (st.mode & 0o022) return `${p} has mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')} (writable by ${st.mode & 0o002 ? 'everyone' : 'its group'})`;
    if (p === dirname(p)) return null;
  }
}

export interface ChainOptions {
  user: string;
  fingerprint: string | undefined;
  /** When the command must have ended, in Date.now() terms: before keys' own hard stop. */
  until: number;
  log: Logger;
  /** Why the program must not run, or null; by default unsafeChainProgram on the real files. */
  check?: (program: string) => string | null;
  maxBytes?: number;
}

export interface ChainRun {
  /** Waits for the command; prints its lines when it exited 0; logs keys.chained. */
  finish(out: (data: Buffer) => void): Promise<void>;
  /** Kills the command and all it started: keys is out of time. */
  kill(): void;
}

interface Outcome {
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  error?: string;
}

/**
 * Starts the command for one login, or returns null (logged as keys.chain_refused) when the
 * user name or the program is unsafe. No shell: an argv, a fixed PATH and nothing else of our
 * environment, in its own process group so that a timeout kills whatever it started too.
 */
export function startChain(cmd: ChainCommand, o: ChainOptions): ChainRun | null {
  const command = formatChainCommand(cmd);
  const user = o.user.slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
  const argv = chainArgv(cmd, o.user, o.fingerprint);
  const unsafe = argv === null ? 'the user name is not one to pass to another program' : (o.check ?? ((p) => unsafeChainProgram(p, realFs, process.execPath)))(cmd.program);
  if (unsafe !== null) {
    o.log.log('error', 'keys.chain_refused', { user, command, reason: unsafe });
    return null;
  }
  const started = Date.now();
  const max = o.maxBytes ?? CHAIN_MAX_BYTES;
  const stdout: Buffer[] = [];
  let size = 0;
  let truncated = false;
  let stderr = '';
  let child: ChildProcess | null = null;
  const killGroup = () => {
    if (child?.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  const outcome = new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => {
      killGroup();
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      resolve({ timedOut: true });
    }, Math.max(0, o.until - Date.now()));
    const done = (r: Outcome) => {
      clearTimeout(timer);
      resolve(r);
    };
    try {
      // Loaded here, not at start-up: only hosts with KEYS_CHAIN_COMMAND pay for node:child_process.
      const { spawn } = process.getBuiltinModule('node:child_process');
      child = spawn(cmd.program, argv!, { cwd: '/', env: { PATH: SYSTEM_PATH, [CHAINED_ENV]: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      done({ error: errText(e) });
      return;
    }
    // Past the bound the rest is read and dropped, so that the command is never stuck on a full pipe.
    child.stdout!.on('data', (d: Buffer) => {
      if (truncated) return;
      if (size + d.length > max) {
        stdout.push(d.subarray(0, max - size));
        truncated = true;
      } else stdout.push(d);
      size = Math.min(max, size + d.length);
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_MAX) stderr += d.toString('utf8').slice(0, STDERR_MAX - stderr.length);
    });
    child.on('error', (e) => done({ error: errText(e) }));
    child.on('close', (exitCode, signal) => done({ exitCode, signal }));
  });

  return {
    kill: killGroup,
    async finish(out) {
      const r = await outcome;
      const ok = r.exitCode === 0 && !r.timedOut && r.error === undefined;
      const lines = ok ? chainedLines(Buffer.concat(stdout), truncated) : [];
      if (lines.length) out(Buffer.from(lines.join(''), 'latin1'));
      o.log.log(ok ? 'info' : 'warn', 'keys.chained', {
        user, command, exitCode: r.exitCode ?? null, signal: r.signal ?? null,
        ...(r.timedOut ? { timedOut: true } : {}), ...(r.error !== undefined ? { error: r.error } : {}),
        lines: lines.length, fingerprints: lines.map(lineFingerprint).filter((f) => f !== null),
        printed: lines.length > 0, truncated, durationMs: Date.now() - started,
        ...(stderr.trim() ? { stderr: stderr.trim() } : {}),
      });
    },
  };
}
