/**
 * A private mount namespace in which tests may create real users, write /etc and run sshd
 * without changing the host: overlays over /etc and /var, tmpfs over /home, /run,
 * /usr/local/sbin and /usr/local/bin (root-owned, non-writable places for the binary, as sshd
 * demands, and where `install` puts it).
 *
 * A holder process keeps the namespace alive and reads its stdin, so it ends with the test
 * process even on kill -9; commands enter it with nsenter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunResult } from './run';

// Fixed text: no test input is ever interpolated into it. $1 is the scratch directory.
const SETUP = `
set -e
mount -t tmpfs -o mode=0700 iam-ssh-test "$1"
for d in etc var; do
  mkdir -p "$1/$d-upper" "$1/$d-work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$1/$d-upper,workdir=$1/$d-work" "/$d"
done
mount -t tmpfs -o mode=0755 home /home
mount -t tmpfs -o mode=0755 run /run
mkdir -p /run/sshd /run/lock && chmod 0755 /run/sshd
mount -t tmpfs -o mode=0755 sbin /usr/local/sbin
mount -t tmpfs -o mode=0755 bin /usr/local/bin
echo ready
read -r _ || true
`;

export function canUseNamespaces(): boolean {
  return process.getuid?.() === 0;
}

const NOT_ROOT = 'this suite creates users and runs sshd in a private mount namespace, which needs root: run the tests as root (CI does)';

/**
 * A suite that needs root. Without root it fails with that reason instead of being skipped:
 * a run that did not exercise the real tools must never look green.
 */
export function rootSuite(name: string, fn: () => void): void {
  if (canUseNamespaces()) describe(name, fn);
  else describe(name, () => test('runs as root', () => { throw new Error(NOT_ROOT); }));
}

export class MountNamespace {
  private readonly children = new Set<ChildProcess>();
  private constructor(
    private readonly holder: ChildProcess,
    private readonly scratch: string,
  ) {}

  static async create(): Promise<MountNamespace> {
    const scratch = mkdtempSync(join(tmpdir(), 'iam-ssh-ns-'));
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', SETUP, 'setup', scratch], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    holder.stderr!.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
      holder.on('exit', (code) => reject(new Error(`namespace setup failed (${code}): ${err}`)));
    });
    return new MountNamespace(holder, scratch);
  }

  private enterArgs(cmd: string, args: string[]): string[] {
    return [`--mount=/proc/${this.holder.pid}/ns/mnt`, '--', cmd, ...args];
  }

  /** Runs a command inside the namespace and waits for it. */
  exec(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
    return run('nsenter', this.enterArgs(cmd, args), opts);
  }

  /** Like exec, but throws with the output when the command fails. */
  async must(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
    const r = await this.exec(cmd, args, opts);
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return r;
  }

  /** Starts a long-running process inside the namespace; stopped by stop(). */
  spawn(cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn('nsenter', this.enterArgs(cmd, args), { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Writes a file inside the namespace (through the process, not the host path). */
  async writeFile(path: string, content: string, mode = '0644'): Promise<void> {
    await this.must('sh', ['-c', 'umask 077; cat > "$1" && chmod "$2" "$1"', 'write', path, mode], { input: content });
  }

  async readFile(path: string): Promise<string> {
    return (await this.must('cat', [path])).stdout;
  }

  async stop(): Promise<void> {
    for (const child of this.children) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(t);
    }
    if (this.holder.exitCode === null) {
      const done = new Promise((r) => this.holder.once('exit', r));
      this.holder.stdin!.end();
      await done;
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }
}
