/** A private sshd inside a MountNamespace, and a real ssh client to log in through it. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { freePort, TEST_CREDENTIALS } from './moto';
import { run, type RunResult } from './run';
import type { MountNamespace } from './namespace';

export interface ClientKey {
  path: string;
  publicLine: string;
}

/** Makes an ed25519 client key pair in a temporary directory (0600, as ssh requires). */
export async function makeClientKey(dir: string, name: string, type: 'ed25519' | 'rsa' = 'ed25519'): Promise<ClientKey> {
  const path = join(dir, name);
  const r = await run('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', `${name}@test`, '-f', path]);
  if (r.code !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return { path, publicLine: readFileSync(`${path}.pub`, 'utf8').trim() };
}

export class Sshd {
  private log = '';
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
  ) {
    proc.stderr!.on('data', (d) => (this.log += d));
  }

  /** Starts sshd with the given extra config lines; the config is written inside the namespace. */
  static async start(ns: MountNamespace, extra: string[]): Promise<Sshd> {
    const port = await freePort();
    if ((await ns.exec('test', ['-f', '/etc/ssh/iam-ssh-test-host-key'])).code !== 0) {
      await ns.must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', '/etc/ssh/iam-ssh-test-host-key']);
    }
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      'HostKey /etc/ssh/iam-ssh-test-host-key',
      'PidFile none',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'LogLevel VERBOSE',
      ...extra,
    ].join('\n');
    const file = `/etc/ssh/iam-ssh-test-sshd_config-${port}`;
    await ns.writeFile(file, config + '\n', '0600');
    return Sshd.run(ns, port, ['-f', file]);
  }

  /**
   * Starts sshd from a config file as the machine has it (e.g. after `iam-ssh install`), only
   * moved to a free loopback port; command-line options come before the file's own lines.
   * `options`: the -o options sshd's unit passes (as systemd would start it).
   */
  static async startFromFile(ns: MountNamespace, file: string, options: string[] = []): Promise<Sshd> {
    const port = await freePort();
    return Sshd.run(ns, port, ['-f', file, ...options.flatMap((o) => ['-o', o]), '-o', `Port=${port}`, '-o', 'ListenAddress=127.0.0.1', '-o', 'PidFile=none', '-o', 'LogLevel=VERBOSE']);
  }

  private static async run(ns: MountNamespace, port: number, args: string[]): Promise<Sshd> {
    const check = await ns.exec('/usr/sbin/sshd', ['-t', ...args]);
    if (check.code !== 0) throw new Error(`sshd -t: ${check.stderr}`);
    const proc = ns.spawn('/usr/sbin/sshd', ['-D', '-e', ...args]);
    const sshd = new Sshd(proc, port);
    const until = Date.now() + 10_000;
    while (!sshd.log.includes('Server listening')) {
      if (proc.exitCode !== null) throw new Error(`sshd exited: ${sshd.log}`);
      if (Date.now() > until) throw new Error(`sshd did not start: ${sshd.log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return sshd;
  }

  /** What sshd wrote to its log since start (its own lines and the keys command's stderr). */
  get output(): string {
    return this.log;
  }
}

/** Logs in with a real ssh client, no agent, no config, batch mode; runs `command`. */
export async function sshLogin(port: number, user: string, key: ClientKey, command: string[]): Promise<RunResult> {
  const home = mkdtempSync(join(tmpdir(), 'iam-ssh-client-'));
  try {
    return await run('ssh', [
      '-F', '/dev/null', '-i', key.path, '-p', String(port),
      '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(home, 'known_hosts')}`,
      '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
      `${user}@127.0.0.1`, '--', ...command,
    ], { env: { PATH: process.env.PATH, HOME: home }, timeoutMs: 30_000 });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Creates the locked system user `iam-ssh` that runs the AuthorizedKeysCommand, its private
 * cache directory, and a shared credentials file in its home standing in for the instance role
 * (sshd gives the command no environment to carry credentials).
 */
export async function prepareCommandUser(ns: MountNamespace): Promise<void> {
  await ns.must('useradd', ['--system', '--home-dir', '/var/lib/iam-ssh-home', '--create-home', '--shell', '/usr/sbin/nologin', 'iam-ssh']);
  await ns.must('install', ['-d', '-o', 'iam-ssh', '-m', '0700', '/var/lib/iam-ssh-home/.aws', '/var/cache/iam-ssh']);
  await ns.writeFile('/var/lib/iam-ssh-home/.aws/credentials',
    `[default]\naws_access_key_id = ${TEST_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${TEST_CREDENTIALS.secretAccessKey}\n`, '0600');
  await ns.must('chown', ['iam-ssh', '/var/lib/iam-ssh-home/.aws/credentials']);
}
