/** Runs system programs without a shell: every argument is passed as is, never parsed. */
import { execa } from 'execa';
import { SYSTEM_PATH } from './os';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Exec = (file: string, args: string[], opts?: { input?: string }) => Promise<ExecResult>;


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

/** shadow-utils' answer when another process (a previous run's orphaned child, an admin) holds /etc/passwd.lock. */
const LOCKED = /cannot lock|try again later|unable to lock/i;

/** Runs and throws with the program's own message when it fails; retries briefly while the account files are locked. */
export async function mustExec(run: Exec, file: string, args: string[], opts?: { input?: string }): Promise<ExecResult> {
  let r = await run(file, args, opts);
  for (let attempt = 1; attempt <= 10 && r.exitCode !== 0 && LOCKED.test(r.stderr); attempt++) {
    await new Promise((res) => setTimeout(res, 100 * attempt));
    r = await run(file, args, opts);
  }
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}
