/**
 * A real systemd, booted with systemd-nspawn from a cached minimal Debian root, for tests that
 * need PID 1: units, timers, journald, socket-activated sshd. No host systemd is needed and the
 * host is not changed.
 *
 * API
 *   ensureRoot(): Promise<string>
 *     The root's directory. Built once with mmdebstrap (minbase + ROOT_PACKAGES) into a temp
 *     directory and renamed into ROOTS_DIR/<hash of the recipe>, under a lock, so parallel runs
 *     build it once and a fresh clone reuses it. Never written to afterwards.
 *   Container.boot(opts?: BootOptions): Promise<Container>
 *     Boots a container on an overlay of that root (the root stays pristine) and waits until
 *     `systemctl is-system-running --wait` says `running`; it throws (with the console's tail and
 *     the failed units) otherwise. Options:
 *       files    { '/etc/x': 'text' | { content, mode } } written into the overlay before boot
 *       setup    fixed shell text run chrooted in the root before boot; $SSH_PORT is set
 *       binds    [{ host, container, readOnly? }] more bind mounts (dist/iam-ssh is always bound
 *                read-only at BINARY_IN_CONTAINER)
 *       readOnly container paths made read-only (each bound read-only over itself, e.g. '/usr')
 *   c.name (also its hostname), c.pid (the container's systemd, as the host sees it), c.sshPort
 *     The container shares the host's network, so moto on the host's 127.0.0.1 is reachable from
 *     inside, and each container gets its own free port for sshd: /etc/ssh/sshd_config.d/
 *     10-test-port.conf says `Port <sshPort>` (a setup that replaces sshd_config or uses a socket
 *     unit uses $SSH_PORT itself).
 *   c.exec(cmd, args, { env?, input?, timeoutMs? }): Promise<RunResult>   nsenter -t pid -a, no shell
 *   c.must(...)   like exec, throws with the output unless the exit status is 0
 *   c.sh(script, ...args)   `sh -c script sh args...` inside (fixed script text, values as args)
 *   c.writeFile(path, content, mode?) / c.readFile(path)
 *   c.stop(): Promise<void>
 *     Powers the container off (SIGTERM to nspawn), kills what is left through the cgroup after
 *     30 s, removes its cgroups and scratch directory, and throws if a process, a mount or a
 *     cgroup of it is left.
 *   containerSuite(name, fn)   describe() that fails (never skips) without root or the tools.
 *
 * Two containers may run at once (other suites do): machine names, cgroups, scratch directories
 * and sshd ports are per container. nspawn writes under /run/systemd, so it runs in a private
 * mount namespace with a tmpfs there; it gets cgroups of its own because no systemd on the host
 * makes one for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './moto';
import { requireBinary, run, type RunResult } from './run';

export const ROOTS_DIR = '/var/cache/iam-ssh-test/roots';
export const ROOT_PACKAGES = ['systemd', 'systemd-sysv', 'libnss-systemd', 'dbus', 'openssh-server', 'sudo', 'passwd', 'util-linux'];
const SUITE = 'bookworm';
export const BINARY_IN_CONTAINER = '/mnt/iam-ssh-dist/iam-ssh';
const CGROUP_HIERARCHIES = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];
const PATH_INSIDE = '/usr/sbin:/usr/bin:/sbin:/bin';

function recipe(): string {
  const sources = existsSync('/etc/apt/sources.list.d')
    ? readdirSync('/etc/apt/sources.list.d').filter((f) => f.endsWith('.sources') || f.endsWith('.list')).sort()
      .map((f) => readFileSync(join('/etc/apt/sources.list.d', f), 'utf8')).join('\n')
    : '';
  return JSON.stringify({ v: 1, suite: SUITE, variant: 'minbase', packages: ROOT_PACKAGES, sources });
}

// Fixed text: $1 is the final directory, $2 the suite, $3 the package list.
const BUILD = `
set -e
[ -d "$1" ] && exit 0
tmp="$1.tmp.$$"
rm -rf "$tmp"
mmdebstrap --quiet --variant=minbase --include="$3" "$2" "$tmp"
mv -T "$tmp" "$1"
`;

export async function ensureRoot(): Promise<string> {
  const dir = join(ROOTS_DIR, createHash('sha256').update(recipe()).digest('hex').slice(0, 16));
  if (existsSync(dir)) return dir;
  mkdirSync(ROOTS_DIR, { recursive: true });
  const r = await run('flock', [join(ROOTS_DIR, '.build.lock'), 'sh', '-c', BUILD, 'build', dir, SUITE, ROOT_PACKAGES.join(',')], { timeoutMs: 600_000 });
  if (r.code !== 0 || !existsSync(dir)) throw new Error(`building the container root failed (${r.code}): ${r.stderr.slice(-3000)}`);
  return dir;
}

// Fixed text, run by unshare in a private mount namespace. $1 root, $2 scratch, $3 name, $4 setup
// script, $5 port; the rest are nspawn's arguments. It execs nspawn, so its pid is nspawn's.
const LAUNCH = `
set -e
root=$1 s=$2 name=$3 setup=$4 port=$5
shift 5
mount -t tmpfs -o mode=0755 iam-ssh-systemd /run/systemd
mkdir -p "$s/upper" "$s/work" "$s/root"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$s/upper,workdir=$s/work" "$s/root"
if [ -n "$setup" ]; then SSH_PORT=$port chroot "$s/root" /bin/sh -ec "$setup"; fi
for h in ${CGROUP_HIERARCHIES.join(' ')}; do mkdir "$h/$name"; echo $$ > "$h/$name/cgroup.procs"; done
exec systemd-nspawn --quiet --directory="$s/root" --machine="$name" --register=no --keep-unit \\
  --console=read-only --link-journal=no --timezone=off --resolv-conf=off "$@" --boot
`;

export interface BootOptions {
  files?: Record<string, string | { content: string; mode?: number }>;
  setup?: string;
  binds?: { host: string; container: string; readOnly?: boolean }[];
  readOnly?: string[];
}

let serial = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Container {
  private console = '';
  private constructor(
    readonly name: string,
    readonly sshPort: number,
    private readonly nspawn: ChildProcess,
    private readonly scratch: string,
    public pid = 0,
  ) {
    nspawn.stdout!.on('data', (d) => (this.console = (this.console + d).slice(-6000)));
    nspawn.stderr!.on('data', (d) => (this.console = (this.console + d).slice(-6000)));
  }

  static async boot(opts: BootOptions = {}): Promise<Container> {
    const root = await ensureRoot();
    const binary = requireBinary();
    const name = `iam-ssh-t${process.pid}-${++serial}`;
    const sshPort = await freePort();
    const scratch = mkdtempSync(join(tmpdir(), 'iam-ssh-container-'));
    const files = {
      '/etc/ssh/sshd_config.d/10-test-port.conf': `Port ${sshPort}\n`,
      // sudo resolves the host's own name.
      '/etc/hostname': `${name}\n`,
      '/etc/hosts': `127.0.0.1 localhost\n127.0.1.1 ${name}\n::1 localhost ip6-localhost ip6-loopback\n`,
      ...opts.files,
    };
    for (const [path, spec] of Object.entries(files)) {
      const { content, mode } = typeof spec === 'string' ? { content: spec, mode: 0o644 } : spec;
      const target = join(scratch, 'upper', path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      writeFileSync(target, content);
      chmodSync(target, mode ?? 0o644);
    }
    // A link of its own: a rebuild renames a new dist/iam-ssh into place, and a bound file that
    // was replaced reads as "(deleted)" in /proc/self/exe, which install copies from.
    const own = join(scratch, 'iam-ssh');
    try { linkSync(binary, own); } catch { copyFileSync(binary, own); }
    const args = [`--bind-ro=${own}:${BINARY_IN_CONTAINER}`];
    for (const b of opts.binds ?? []) args.push(`--${b.readOnly ? 'bind-ro' : 'bind'}=${b.host}:${b.container}`);
    for (const p of opts.readOnly ?? []) args.push(`--bind-ro=${join(scratch, 'root', p)}:${p}`);
    const nspawn = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', LAUNCH, 'launch',
      root, scratch, name, opts.setup ?? '', String(sshPort), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const c = new Container(name, sshPort, nspawn, scratch);
    try {
      c.pid = await c.waitForInit();
      await c.waitForRunning();
    } catch (e) {
      await c.stop().catch(() => undefined);
      throw e;
    }
    return c;
  }

  private async waitForInit(): Promise<number> {
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      if (this.nspawn.exitCode !== null) break;
      try {
        const kids = readFileSync(`/proc/${this.nspawn.pid}/task/${this.nspawn.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
        for (const k of kids) if (readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'systemd') return Number(k);
      } catch { /* not started yet */ }
      await sleep(50);
    }
    throw new Error(`the container did not start (nspawn exit ${this.nspawn.exitCode}): ${this.console}`);
  }

  private async waitForRunning(): Promise<void> {
    // is-system-running --wait fails while systemd's private socket does not exist yet.
    const until = Date.now() + 30_000;
    while ((await this.exec('test', ['-S', '/run/systemd/private'])).code !== 0) {
      if (Date.now() > until || this.nspawn.exitCode !== null) throw new Error(`systemd in the container did not come up: ${this.console}`);
      await sleep(50);
    }
    const r = await this.exec('systemctl', ['is-system-running', '--wait'], { timeoutMs: 90_000 });
    if (r.stdout.trim() !== 'running') {
      const failed = await this.exec('systemctl', ['--failed', '--no-legend']);
      throw new Error(`the container's system is ${r.stdout.trim() || r.stderr.trim()}, not running: ${failed.stdout}\n${this.console}`);
    }
  }

  exec(cmd: string, args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return run('nsenter', ['-t', String(this.pid), '-a', '--', cmd, ...args], {
      env: { PATH: PATH_INSIDE, LANG: 'C.UTF-8', ...opts.env }, input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000,
    });
  }

  async must(cmd: string, args: string[], opts: Parameters<Container['exec']>[2] = {}): Promise<RunResult> {
    const r = await this.exec(cmd, args, opts);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${this.name} (${r.code}): ${r.stderr}${r.stdout}`);
    return r;
  }

  sh(script: string, ...args: string[]): Promise<RunResult> {
    return this.exec('sh', ['-c', script, 'sh', ...args]);
  }

  async writeFile(path: string, content: string, mode = '0644'): Promise<void> {
    await this.must('sh', ['-c', 'umask 077; cat > "$1" && chmod "$2" "$1"', 'write', path, mode], { input: content });
  }

  async readFile(path: string): Promise<string> {
    return (await this.must('cat', [path])).stdout;
  }

  private cgroupProcs(): number[] {
    const procs: number[] = [];
    const walk = (dir: string) => {
      if (!existsSync(dir)) return;
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
      try { procs.push(...readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)); } catch { /* gone */ }
    };
    for (const h of CGROUP_HIERARCHIES) walk(join(h, this.name));
    return [...new Set(procs)];
  }

  /** Powers off, cleans up and verifies that no process, mount or cgroup of this container is left. */
  async stop(): Promise<void> {
    const exited = this.nspawn.exitCode !== null || this.nspawn.signalCode !== null ? Promise.resolve() : new Promise((r) => this.nspawn.once('exit', r));
    this.nspawn.kill('SIGTERM');
    const killer = setTimeout(() => {
      // Not down in time: kill every process of the container, then nspawn.
      try { writeFileSync(join(CGROUP_HIERARCHIES[1]!, this.name, 'cgroup.kill'), '1'); } catch { /* no cgroup */ }
      this.nspawn.kill('SIGKILL');
    }, 30_000);
    await exited;
    clearTimeout(killer);
    const left: string[] = [];
    for (let i = 0; i < 50 && this.cgroupProcs().length > 0; i++) await sleep(100);
    const procs = this.cgroupProcs();
    if (procs.length > 0) left.push(`processes ${procs.join(' ')}`);
    for (const h of CGROUP_HIERARCHIES) {
      const top = join(h, this.name);
      const dirs: string[] = [];
      const walk = (d: string) => { dirs.push(d); for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name)); };
      if (existsSync(top)) walk(top);
      for (const d of dirs.reverse()) try { rmdirSync(d); } catch { /* reported below */ }
      if (existsSync(top)) left.push(`cgroup ${top}`);
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(this.scratch));
    if (mounts.length > 0) left.push(`mounts ${mounts.join('; ')}`);
    if (this.pid && existsSync(`/proc/${this.pid}`)) left.push(`the container's systemd ${this.pid}`);
    rmSync(this.scratch, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`container ${this.name} left ${left.join(', ')}`);
  }
}

const TOOLS = ['systemd-nspawn', 'mmdebstrap', 'nsenter', 'unshare', 'flock'];

/** A suite that boots containers. Without root or the tools it fails with the reason; it is never skipped. */
export function containerSuite(name: string, fn: () => void): void {
  const missing = TOOLS.filter((t) => !['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(join(d, t))));
  const reason = process.getuid?.() !== 0 ? 'booting a container needs root: run the tests as root (CI does)'
    : missing.length > 0 ? `missing ${missing.join(', ')}: run scripts/setup-host.sh (installs systemd-container and mmdebstrap)` : null;
  if (reason === null) describe(name, fn);
  else describe(name, () => test('boots a container', () => { throw new Error(reason); }));
}
