/**
 * The machine's sshd configuration: how its files are laid out (Include, drop-in directory,
 * Flatcar's symlink to a read-only stock file), what sshd itself makes of them (`sshd -t`,
 * `sshd -T`), and reloading it.
 */
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { exec, type Exec } from './exec';
import { includes, parseEffective, parseSshdConfig, type Directive } from './sshd-config';

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/bin/sshd', '/sbin/sshd'];
const SSH_DIR = '/etc/ssh';
/**
 * The user sshd's Match blocks are evaluated for when no managed user is known yet: a name
 * that matches no ordinary Match User rule. It need not exist.
 */
export const PROBE_USER = 'iam-ssh-probe';

/** sshd's program: the first of the usual places that exists. */
export function sshdProgram(): string | null {
  return SSHD_CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** `sshd -T` as run for a user: its exit status, its complaint and the settings it printed. */
export interface EffectiveReport {
  exitCode: number;
  stderr: string;
  settings: Map<string, string[]>;
}

export interface SshdLayout {
  main: string;
  /** The main file is a symlink (Flatcar: to /usr/share/ssh/sshd_config, read-only). */
  symlinkTarget: string | null;
  mainText: string;
  /** A directory the main file includes as `<dir>/*.conf`, before any key-source directive. */
  dropInDir: string | null;
  /** Every directive in the order sshd reads them, Includes expanded. */
  ordered: Directive[];
}

export function readSshdLayout(main: string): SshdLayout {
  const st = lstatSync(main, { throwIfNoEntry: false });
  if (!st) throw new Error(`${main} not found: is openssh-server installed?`);
  const symlinkTarget = st.isSymbolicLink() ? readlinkSync(main) : null;
  const mainText = readFileSync(main, 'utf8');
  const top = parseSshdConfig(main, mainText);
  const ordered = expand(top, 0);
  let dropInDir: string | null = null;
  for (const inc of includes(top)) {
    const pattern = inc.patterns.find((p) => /\/\*\.conf$/.test(p));
    if (pattern) {
      dropInDir = dirname(absolute(pattern));
      break;
    }
  }
  return { main, symlinkTarget, mainText, dropInDir, ordered };
}

/** sshd's glob(3) over an Include pattern: relative to /etc/ssh, sorted. */
function expandInclude(pattern: string): string[] {
  const abs = absolute(pattern);
  const base = abs.slice(abs.lastIndexOf('/') + 1);
  const dir = dirname(abs);
  if (!/[*?[]/.test(base)) return existsSync(abs) ? [abs] : [];
  const re = new RegExp('^' + base.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '$');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => re.test(n) && !n.startsWith('.')).sort().map((n) => join(dir, n)).filter((f) => statSync(f, { throwIfNoEntry: false })?.isFile());
}

function absolute(p: string): string {
  return isAbsolute(p) ? p : resolve(SSH_DIR, p);
}

function expand(directives: Directive[], depth: number): Directive[] {
  const out: Directive[] = [];
  for (const d of directives) {
    out.push(d);
    if (d.keyword !== 'include' || depth > 8) continue;
    for (const pattern of d.args.split(/\s+/).filter(Boolean)) {
      for (const file of expandInclude(pattern)) {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          continue;
        }
        // A directive in an included file inherits the Match scope of the Include line.
        const inner = parseSshdConfig(file, text).map((x) => (d.match && x.match === null ? { ...x, match: d.match } : x));
        out.push(...expand(inner, depth + 1));
      }
    }
  }
  return out;
}

export class SshdControl {
  constructor(
    private readonly run: Exec = exec,
    private readonly program: string = sshdProgram() ?? SSHD_CANDIDATES[0]!,
  ) {}

  /** `sshd -t`: null when the configuration is valid, else sshd's message. */
  async test(main: string): Promise<string | null> {
    const r = await this.run(this.program, ['-t', '-f', main]);
    return r.exitCode === 0 ? null : (r.stderr.trim() || r.stdout.trim() || `sshd -t exited ${r.exitCode}`);
  }

  /** `sshd -T` for a connection of `user` from loopback: what sshd would really use. */
  async effective(main: string, user: string): Promise<Map<string, string[]>> {
    const r = await this.report(user, main);
    if (r.exitCode !== 0) throw new Error(`sshd -T: ${r.stderr.trim()}`);
    return r.settings;
  }

  /** `sshd -T` with sshd's own choice of config file (main: null), failures included. */
  async report(user: string, main: string | null = null): Promise<EffectiveReport> {
    const r = await this.run(this.program, ['-T', ...(main ? ['-f', main] : []), '-C', `user=${user},host=localhost,addr=127.0.0.1`]);
    return { exitCode: r.exitCode, stderr: r.exitCode === 0 ? r.stderr : r.stderr || r.stdout, settings: r.exitCode === 0 ? parseEffective(r.stdout) : new Map() };
  }

  /**
   * Makes a running sshd read its configuration again. Socket-activated sshd (Flatcar) starts
   * a fresh process per connection and needs nothing. Returns what was done, for the report.
   */
  async reload(systemd: boolean): Promise<string> {
    if (systemd) {
      const socket = await this.run('systemctl', ['is-active', '--quiet', 'sshd.socket']);
      if (socket.exitCode === 0) return 'sshd is socket-activated: new connections read the new configuration';
      for (const unit of ['ssh.service', 'sshd.service']) {
        const active = await this.run('systemctl', ['is-active', '--quiet', unit]);
        if (active.exitCode !== 0) continue;
        const r = await this.run('systemctl', ['reload', unit]);
        if (r.exitCode !== 0) throw new Error(`systemctl reload ${unit}: ${r.stderr.trim()}`);
        return `reloaded ${unit}`;
      }
      return 'no running sshd unit to reload';
    }
    const pidFile = ['/run/sshd.pid', '/var/run/sshd.pid'].find((f) => existsSync(f));
    if (!pidFile) return 'no running sshd found (no pid file); start sshd to use the new configuration';
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return `ignored ${pidFile}: not a pid`;
    try {
      process.kill(pid, 'SIGHUP');
      return `sent SIGHUP to sshd (pid ${pid})`;
    } catch (e) {
      return `could not signal sshd pid ${pid}: ${(e as NodeJS.ErrnoException).code}`;
    }
  }
}
