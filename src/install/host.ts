/**
 * The file and command operations of `install`/`uninstall`, each of which does nothing when
 * the machine is already as wanted (so a second install changes no file), reports what it
 * changes, and under --dry-run only reports.
 */
import { copyFileSync, chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { writeFileAtomic } from '../util/atomic-file';
import { mustExec, type Exec, type ExecResult } from '../platform/exec';

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * install and uninstall run as root only, --dry-run included: they read root-only files and plan
 * with root's view of the host (a non-root user sees /usr as read-only and would plan /opt/bin).
 * True, after saying so on stderr, when the caller must stop (exit 2).
 */
export function refuseUnlessRoot(command: string, uid = process.getuid?.()): boolean {
  if (uid === 0) return false;
  process.stderr.write(`iam-ssh ${command} must be run as root, --dry-run too: sudo iam-ssh ${command} ...\n`);
  return true;
}

export class InstallHost {
  /** Paths changed so far, for the summary and the tests. */
  readonly changes: string[] = [];

  constructor(
    readonly dryRun: boolean,
    private readonly report: (line: string) => void,
    private readonly runner: Exec,
  ) {}

  private did(what: string, path: string): void {
    this.changes.push(path);
    this.report(`${this.dryRun ? 'would ' : ''}${what}`);
  }

  /** Writes when content, mode or owner differ. */
  writeFile(path: string, content: string | Buffer, mode: number, owner: Owner = { uid: 0, gid: 0 }): boolean {
    const want = typeof content === 'string' ? Buffer.from(content) : content;
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st?.isFile() && (st.mode & 0o7777) === mode && st.uid === owner.uid && st.gid === owner.gid && readFileSync(path).equals(want)) return false;
    this.did(`write ${path} (mode ${mode.toString(8).padStart(4, '0')}, ${want.length} bytes)`, path);
    if (this.dryRun) return true;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    writeFileAtomic(path, want, mode, owner);
    return true;
  }

  /** Installs an executable by copy and rename, so a running copy is never overwritten in place. */
  copyExecutable(from: string, to: string): boolean {
    const st = lstatSync(to, { throwIfNoEntry: false });
    if (st?.isFile() && (st.mode & 0o7777) === 0o755 && st.uid === 0 && st.gid === 0 && sameBytes(from, to)) return false;
    this.did(`install ${from} as ${to} (root, 0755)`, to);
    if (this.dryRun) return true;
    mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
    const tmp = `${to}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    copyFileSync(from, tmp);
    chownSync(tmp, 0, 0);
    chmodSync(tmp, 0o755);
    renameSync(tmp, to);
    return true;
  }

  removeFile(path: string): boolean {
    if (!lstatSync(path, { throwIfNoEntry: false })) return false;
    this.did(`remove ${path}`, path);
    if (!this.dryRun) unlinkSync(path);
    return true;
  }

  /**
   * Moves a regular file, across file systems too: the copy (same bytes, mode and owner) is
   * complete on disk before the original goes. A copy already at `to` with the same bytes is kept.
   */
  moveFile(from: string, to: string): boolean {
    const st = lstatSync(from, { throwIfNoEntry: false });
    if (!st) return false;
    if (!st.isFile()) throw new Error(`${from} is not a regular file: not moved`);
    this.did(`move ${from} to ${to}`, from);
    if (this.dryRun) return true;
    const bytes = readFileSync(from);
    if (!sameBytes(from, to)) {
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      writeFileAtomic(to, bytes, st.mode & 0o7777, { uid: st.uid, gid: st.gid });
    }
    unlinkSync(from);
    return true;
  }

  removeTree(path: string): boolean {
    if (!lstatSync(path, { throwIfNoEntry: false })) return false;
    this.did(`remove ${path} and everything in it`, path);
    if (!this.dryRun) rmSync(path, { recursive: true, force: true });
    return true;
  }

  /** Replaces whatever is at `path` with a symlink to `target` (Flatcar's stock sshd_config). */
  symlink(target: string, path: string): boolean {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st?.isSymbolicLink() && readlinkSync(path) === target) return false;
    this.did(`link ${path} -> ${target}`, path);
    if (this.dryRun) return true;
    const tmp = `${path}.tmp-${process.pid}`;
    symlinkSync(target, tmp);
    renameSync(tmp, path);
    return true;
  }

  mkdir(path: string, mode: number, owner: Owner): boolean {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new Error(`${path} exists and is not a directory`);
    if (st && (st.mode & 0o7777) === mode && st.uid === owner.uid && st.gid === owner.gid) return false;
    this.did(`${st ? 'set' : 'create'} directory ${path} (mode ${mode.toString(8).padStart(4, '0')}, uid ${owner.uid})`, path);
    if (this.dryRun) return true;
    mkdirSync(path, { recursive: true, mode });
    chownSync(path, owner.uid, owner.gid);
    chmodSync(path, mode);
    return true;
  }

  /** A command that changes the machine. */
  async run(file: string, args: string[], what = `run ${file} ${args.join(' ')}`): Promise<ExecResult | null> {
    this.did(what, file);
    if (this.dryRun) return null;
    return mustExec(this.runner, file, args);
  }

  /**
   * Runs a program as the operator ran us: same environment (AWS credentials may come from
   * it), output passed through. Returns its exit status; null under --dry-run.
   */
  async runPassThrough(file: string, args: string[], what: string): Promise<number | null> {
    this.report(`${this.dryRun ? 'would ' : ''}${what}`);
    if (this.dryRun) return null;
    const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    return new Promise((resolve) => {
      child.on('error', () => resolve(127));
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  }

  /** A command that only reads; runs under --dry-run too. */
  query(file: string, args: string[]): Promise<ExecResult> {
    return this.runner(file, args);
  }
}

function sameBytes(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}
