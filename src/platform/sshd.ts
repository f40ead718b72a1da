/**
 * The machine's sshd configuration: how its files are laid out (Include, drop-in directory,
 * Flatcar's symlink to a read-only stock file), how its systemd unit starts it (`-o` options
 * beat every file), what sshd itself makes of them (`sshd -t`, `sshd -T`), and reloading it.
 */
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { exec, type Exec } from './exec';
import { includes, parseEffective, parseSshdConfig, type Directive } from './sshd-config';
import { execArgv, parseEnvironmentFile, parseSshdArgv, parseSystemctlCat, parseUnitFiles, SSHD_UNITS, type ExecStart, type SshdArgv, type UnitFile } from './sshd-unit';

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

/** Where systemd finds unit files and their drop-in directories, highest priority first. */
export const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];

/** sshd's unit, read as systemd starts it. */
export interface SshdService {
  unit: string;
  /** The unit file, then its drop-ins in the order systemd applies them. */
  files: string[];
  execStart: ExecStart | null;
  /** `-f` and the `-o` options sshd gets, its environment (EnvironmentFile, Environment) expanded. */
  argv: SshdArgv;
}

/**
 * ssh.service or sshd.service, whichever exists first (the template service of an active
 * sshd.socket or ssh.socket before them): through `systemctl cat` when systemd runs, else from
 * the unit directories. `skip`: drop-ins to leave out (install's own, to see
 * the service as the vendor left it); `dirs`: the unit directories. Null when there is no such unit.
 */
/** Socket units that start one sshd per connection, and the template service they start. */
const SOCKET_UNITS = [['sshd.socket', 'sshd@.service'], ['ssh.socket', 'ssh@.service']] as const;

export async function readSshdService(run: Exec, systemd: boolean, skip: readonly string[] = [], dirs: readonly string[] = UNIT_DIRS): Promise<SshdService | null> {
  let groups: UnitFile[][];
  if (systemd) {
    // A socket-activated sshd (Flatcar: sshd.socket, Accept=yes) runs as the socket's template
    // service, whatever an idle ssh.service or sshd.service says.
    const templates: string[] = [];
    for (const [socket, service] of SOCKET_UNITS) {
      if ((await run('systemctl', ['is-active', '--quiet', socket])).exitCode === 0) templates.push(service);
    }
    const r = await run('systemctl', ['cat', '--', ...templates, ...SSHD_UNITS]);
    groups = parseSystemctlCat(r.stdout);
  } else {
    groups = SSHD_UNITS.map((name) => unitFilesOnDisk(name, dirs)).filter((g): g is UnitFile[] => g !== null);
  }
  const files = groups.find((g) => g.length > 0)?.filter((f) => !skip.includes(f.path));
  if (!files || files.length === 0) return null;
  const settings = parseUnitFiles(files);
  const env = new Map(settings.environment);
  for (const f of settings.environmentFiles) {
    try {
      for (const [k, v] of parseEnvironmentFile(readFileSync(f.path, 'utf8'))) env.set(k, v);
    } catch {}
  }
  const exec = settings.execStart;
  const isSshd = exec !== null && basename(exec.words[0]?.value ?? '') === 'sshd';
  return {
    unit: basename(files[0]!.path),
    files: files.map((f) => f.path),
    execStart: exec,
    argv: isSshd ? parseSshdArgv(execArgv(exec, env)) : { configFile: null, options: [] },
  };
}

/** A unit's file and drop-ins as systemd would load them without systemd running; null when absent or masked. */
function unitFilesOnDisk(name: string, dirs: readonly string[]): UnitFile[] | null {
  const dir = dirs.find((d) => lstatSync(join(d, name), { throwIfNoEntry: false }));
  if (!dir) return null;
  let fragment: string;
  try {
    fragment = realpathSync(join(dir, name));
  } catch {
    return null;
  }
  if (fragment === '/dev/null') return null;
  // Drop-ins of every name the unit has (an alias symlink's too); one of the same file name in
  // a directory of higher priority hides the others; applied in file-name order.
  const resolvesHere = (n: string) => dirs.some((d) => {
    try {
      return realpathSync(join(d, n)) === fragment;
    } catch {
      return false;
    }
  });
  const names = [...new Set([name, basename(fragment), ...SSHD_UNITS.filter(resolvesHere)])];
  const byName = new Map<string, string>();
  const seen = new Set<string>();
  for (const d of dirs) {
    let real: string;
    try {
      real = realpathSync(d);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    for (const n of names) {
      let entries: string[];
      try {
        entries = readdirSync(join(d, `${n}.d`));
      } catch {
        continue;
      }
      for (const e of entries) if (e.endsWith('.conf') && !byName.has(e)) byName.set(e, join(d, `${n}.d`, e));
    }
  }
  const paths = [fragment, ...[...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p)];
  const out: UnitFile[] = [];
  for (const path of paths) {
    try {
      out.push({ path, text: readFileSync(path, 'utf8') });
    } catch {}
  }
  return out;
}

/** sshd's arguments for the `-o` options a unit passes: each as one argument, never through a shell. */
function optionArgs(options: readonly string[]): string[] {
  return options.flatMap((o) => ['-o', o]);
}

export class SshdControl {
  constructor(
    private readonly run: Exec = exec,
    private readonly program: string = sshdProgram() ?? SSHD_CANDIDATES[0]!,
  ) {}

  /** `sshd -t` with the unit's `-o` options: null when the configuration is valid, else sshd's message. */
  async test(main: string, options: readonly string[] = []): Promise<string | null> {
    const r = await this.run(this.program, ['-t', '-f', main, ...optionArgs(options)]);
    return r.exitCode === 0 ? null : (r.stderr.trim() || r.stdout.trim() || `sshd -t exited ${r.exitCode}`);
  }

  /** `sshd -T` for a connection of `user` from loopback: what sshd would really use. */
  async effective(main: string, user: string, options: readonly string[] = []): Promise<Map<string, string[]>> {
    const r = await this.report(user, main, options);
    if (r.exitCode !== 0) throw new Error(`sshd -T: ${r.stderr.trim()}`);
    return r.settings;
  }

  /** `sshd -T` with sshd's own choice of config file (main: null) and the unit's `-o` options, failures included. */
  async report(user: string, main: string | null = null, options: readonly string[] = []): Promise<EffectiveReport> {
    const r = await this.run(this.program, ['-T', ...(main ? ['-f', main] : []), ...optionArgs(options), '-C', `user=${user},host=localhost,addr=127.0.0.1`]);
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
