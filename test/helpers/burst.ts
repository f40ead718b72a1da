/**
 * Starts many processes at once from a separate small launcher process, the way sshd forks
 * one AuthorizedKeysCommand per connection. Launching from the test process itself would
 * stall its event loop, and with it the in-process IAM proxy, for the whole burst.
 */
import type { MountNamespace } from './namespace';

export interface BurstResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

// Fixed program text; the commands come as JSON on stdin, never through a shell.
const LAUNCHER = `
const { spawn } = require('node:child_process');
let input = '';
process.stdin.on('data', (d) => (input += d)).on('end', async () => {
  const { env, commands } = JSON.parse(input);
  const results = await Promise.all(commands.map(([cmd, ...args]) => new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => resolve({ code: null, stdout, stderr: stderr + String(e), ms: performance.now() - t0 }));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  })));
  process.stdout.write(JSON.stringify(results));
});
`;

/** Runs every command concurrently inside the namespace as `user`; results in command order. */
export async function burst(ns: MountNamespace, user: string, commands: string[][], env: NodeJS.ProcessEnv): Promise<BurstResult[]> {
  const r = await ns.exec('setpriv', [`--reuid=${user}`, `--regid=${user}`, '--clear-groups', process.execPath, '-e', LAUNCHER], {
    env: { PATH: env.PATH }, input: JSON.stringify({ env, commands }), timeoutMs: 600_000,
  });
  if (r.code !== 0) throw new Error(`launcher failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as BurstResult[];
}
