/**
 * `iam-ssh record`: sshd's ForceCommand for the recorded group, running as the user.
 *
 * With a terminal, util-linux `script` runs the login shell (or SSH_ORIGINAL_COMMAND) on a
 * pseudo-terminal of its own and writes what was typed and what was shown into two FIFOs in
 * a private directory; the recorder stamps each read with its monotonic clock and streams it
 * to journald. Without a terminal (scp, sftp, rsync, `ssh host cmd`) the command runs on plain
 * pipes the recorder relays byte for byte, counting them (and recording them with
 * RECORD_COMMAND_DATA). The session ends when script or the command ends, killed or not.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync, constants as fsc } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import { randomBytes } from 'node:crypto';
import { defaults, type Config } from '../config/config';
import { loadConfig } from '../config/load';
import { RecordWriter } from './journal-writer';
import { ScriptLogFilter, type Stream } from './wire';
import { acceptedKey, clientOf, iamUserOf, sshdMonitorPid } from './identity';
import { sessionCommand } from './session-command';

export type RecordEnv = Readonly<Record<string, string | undefined>>;

export interface RecordOptions {
  config: Config;
  env: RecordEnv;
  /** journald's stream socket (tests point it elsewhere). */
  journalSocket?: string;
}

const SCRIPT_CANDIDATES = ['/usr/bin/script', '/bin/script'];
const say = (text: string) => process.stderr.write(`iam-ssh: ${text}\n`);

/** sshd's forced command: the config file (the user may not be able to read it: then the safe defaults), then the session. */
export async function recordSession(configFile: string | undefined): Promise<number> {
  let config = defaults();
  try {
    config = loadConfig(configFile).config;
  } catch (e) {
    say(`config not read (${(e as Error).message}); recording with the defaults`);
  }
  return runRecord({ config, env: process.env });
}

export async function runRecord(o: RecordOptions): Promise<number> {
  const t0 = performance.now();
  const me = userInfo();
  const shell = me.shell || '/bin/sh';
  const tty = isatty(0);
  const original = o.env.SSH_ORIGINAL_COMMAND ?? null;
  const sid = randomBytes(12).toString('hex');
  const recordData = tty || o.config.recordCommandData;

  let writer: RecordWriter | null = null;
  try {
    writer = await RecordWriter.open(sid, { path: o.journalSocket, bufferBytes: o.config.recordBufferBytes, timeoutMs: 2000, clock: () => performance.now() - t0 });
  } catch (e) {
    const why = (e as Error).message;
    if (o.config.recordJournalDown === 'refuse') {
      say(`this session must be recorded, and the recorder cannot reach journald (${why}): session refused. Ask an administrator to check systemd-journald.`);
      return 1;
    }
    say(`WARNING: this session is NOT RECORDED: journald cannot be reached (${why}); RECORD_JOURNAL_DOWN=allow lets it run.`);
  }

  const size = tty && isatty(1) ? process.stdout.getWindowSize?.() : undefined;
  writer?.control({
    k: 'start', v: 1, sid, t: 0, time: new Date().toISOString(), user: me.username, uid: me.uid,
    iamUser: iamUserOf(o.config.stateDir, me.username), key: acceptedKey(o.env.SSH_USER_AUTH), client: clientOf(o.env.SSH_CONNECTION),
    tty, cmd: original, pid: process.pid, sshdPid: sshdMonitorPid(process.ppid), term: o.env.TERM ?? null,
    cols: size?.[0] ?? null, rows: size?.[1] ?? null, data: recordData,
  });

  const env = { ...o.env, SHELL: shell } as NodeJS.ProcessEnv;
  const result = tty ? await runOnTerminal(writer, shell, original, env) : await runOnPipes(writer, recordData, shell, sessionCommand(original), env);

  if (writer) {
    writer.settle();
    writer.control({ k: 'end', sid, t: writer.now(), exit: result.exit, signal: result.signal, reason: result.reason, bytes: writer.bytes, gaps: writer.gaps });
    const flushed = await writer.close(3000);
    if (!flushed) say('the end of this session may not have reached journald');
  }
  return result.exit ?? 1;
}

interface Outcome { exit: number | null; signal: string | null; reason: string }

/**
 * Signals that end a session (sshd's hangup when the client goes away): passed on, so the end is
 * still recorded, and remembered, so that the end says who ended it.
 */
function forwardSignals(child: ChildProcess): { stop: () => void; received: Set<string> } {
  const received = new Set<string>();
  const handlers = (['SIGHUP', 'SIGTERM', 'SIGINT'] as const).map((sig) => {
    const h = () => {
      received.add(sig);
      child.kill(sig);
      // script outlives a hangup of its own terminal while its shell runs on: end it, then for sure.
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGTERM'), 2000).unref();
      setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 7000).unref();
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return { stop: () => handlers.forEach(([sig, h]) => process.off(sig, h)), received };
}

function childEnded(child: ChildProcess, what: string, forwarded: Set<string> = new Set()): Promise<Outcome> {
  return new Promise((resolve) => {
    child.on('error', (e) => resolve({ exit: 127, signal: null, reason: `${what} could not start: ${e.message}` }));
    child.on('exit', (code, signal) => {
      if (!signal) return resolve({ exit: code ?? 1, signal: null, reason: forwarded.size ? `ended on ${[...forwarded].join(', ')} from sshd` : 'exited' });
      const exit = 128 + (osConstants.signals[signal] ?? 0);
      // After sshd's hangup (a disconnect) the end of script is the session's end, however it came.
      resolve({ exit, signal, reason: forwarded.size ? `ended on ${[...forwarded].join(', ')} from sshd (${what} killed by ${signal})` : `${what} was killed by ${signal}` });
    });
  });
}

async function runOnTerminal(writer: RecordWriter | null, shell: string, original: string | null, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const program = SCRIPT_CANDIDATES.find((p) => existsSync(p));
  if (!program) {
    say('util-linux script is not installed; a recorded session cannot run');
    return { exit: 1, signal: null, reason: 'script not found' };
  }
  // script runs `$SHELL -c <command>`: a login shell when sshd was given no command.
  const command = original ?? `exec '${shell.replace(/'/g, `'\\''`)}' -l`;
  if (!writer) return childEnded(spawn(shell, ['-c', command], { stdio: 'inherit', env }), 'the shell');
  const dir = mkdtempSync(join(tmpdir(), 'iam-ssh-record-'));
  const fifo = { i: join(dir, 'in'), o: join(dir, 'out') };
  execFileSync('mkfifo', ['-m', '0600', fifo.i, fifo.o], { env: { PATH: '/usr/bin:/bin' } });
  const open = (p: string) => new Socket({ fd: openSync(p, fsc.O_RDONLY | fsc.O_NONBLOCK), readable: true, writable: false });
  const logs = { i: open(fifo.i), o: open(fifo.o) };
  const child = spawn(program, ['-q', '-f', '-e', '--log-in', fifo.i, '--log-out', fifo.o, '-c', command], { stdio: 'inherit', env });
  const signals = forwardSignals(child);
  const ended = childEnded(child, 'script', signals.received);
  const drained = (['i', 'o'] as const).map((s) => relayLog(logs[s], s, writer));
  void removeOnceOpened(dir, child.pid, Object.values(fifo));
  const outcome = await ended;
  signals.stop();
  // script closes its logs as it exits; a reader that never sees their end must not hang the session.
  await Promise.race([Promise.all(drained), new Promise((r) => setTimeout(r, 1000))]);
  logs.i.destroy();
  logs.o.destroy();
  rmSync(dir, { recursive: true, force: true });
  return outcome;
}

function relayLog(sock: Socket, stream: Stream, writer: RecordWriter): Promise<void> {
  const filter = new ScriptLogFilter();
  return new Promise((resolve) => {
    sock.on('data', (d: Buffer) => filter.push(d).forEach((b) => writer.data(stream, b)));
    sock.on('error', () => resolve());
    sock.on('end', () => {
      filter.end();
      resolve();
    });
  });
}

/** The FIFOs are removed as soon as script holds them open, so no other process of the user can open them by name. */
async function removeOnceOpened(dir: string, pid: number | undefined, paths: string[]): Promise<void> {
  const until = Date.now() + 3000;
  while (pid && Date.now() < until) {
    try {
      const open = readdirSync(`/proc/${pid}/fd`).map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      });
      if (paths.every((p) => open.includes(p))) break;
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  rmSync(dir, { recursive: true, force: true });
}

async function runOnPipes(writer: RecordWriter | null, recordData: boolean, shell: string, command: string | null, env: NodeJS.ProcessEnv): Promise<Outcome> {
  // sshd without a command and without a terminal runs the login shell on pipes: so do we.
  const child = spawn(shell, command === null ? ['-l'] : ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], env });
  const signals = forwardSignals(child);
  const ended = childEnded(child, 'the command', signals.received);
  const count = (stream: Stream) => (d: Buffer) => {
    if (!writer) return;
    if (recordData) writer.data(stream, d);
    else writer.bytes[stream] += d.length;
  };
  process.stdin.on('data', count('i'));
  process.stdin.pipe(child.stdin!);
  child.stdin!.on('error', () => process.stdin.unpipe(child.stdin!));
  child.stdout!.on('data', count('o'));
  child.stderr!.on('data', count('e'));
  for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
  child.stdout!.pipe(process.stdout, { end: false });
  child.stderr!.pipe(process.stderr, { end: false });
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  const outcome = await ended;
  await closed;
  signals.stop();
  process.stdin.unpipe(child.stdin!);
  process.stdin.pause();
  process.stdin.destroy();
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((r) => (s.writableLength === 0 ? r() : s.once('drain', () => r())))));
  return outcome;
}
