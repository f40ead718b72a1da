/** Runs system programs without a shell: every argument is passed as is, never parsed. */
import { execa } from 'execa';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Exec = (file: string, args: string[], opts?: { input?: string }) => Promise<ExecResult>;

/** A PATH that does not depend on how cron or systemd started us (aws-ec2-ssh #111/#69). */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin';

export const exec: Exec = async (file, args, opts = {}) => {
  const r = await execa(file, args, {
    reject: false,
    input: opts.input ?? '',
    env: { PATH: SYSTEM_PATH, LC_ALL: 'C' },
    extendEnv: false,
    timeout: 120_000,
    stripFinalNewline: false,
  });
  if (r.failed && r.exitCode === undefined) throw new Error(`${file}: ${r.shortMessage}`);
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
};

/** Runs and throws with the program's own message when it fails. */
export async function mustExec(run: Exec, file: string, args: string[], opts?: { input?: string }): Promise<ExecResult> {
  const r = await run(file, args, opts);
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
