/**
 * An iam-ssh host under a real systemd: moto on the host's loopback, a booted container
 * (container.ts) whose root and command user hold the emulator's credentials in place of the
 * instance role, and the commands the systemd tests run inside it.
 */
import { Moto, TEST_CREDENTIALS } from './moto';
import { IamProxy } from './iam-proxy';
import { Container, BINARY_IN_CONTAINER, type BootOptions } from './container';
import type { RunResult } from './run';

export const CREDENTIALS = `[default]\naws_access_key_id = ${TEST_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${TEST_CREDENTIALS.secretAccessKey}\n`;

export class SystemdHost {
  private constructor(
    readonly moto: Moto,
    /** What the host calls IAM through (its AWS_ENDPOINT_URL): faults are injected here. */
    readonly proxy: IamProxy,
    readonly c: Container,
  ) {}

  static async start(opts: BootOptions = {}): Promise<SystemdHost> {
    const moto = await Moto.start();
    let proxy: IamProxy | undefined;
    try {
      proxy = await IamProxy.start(moto.url);
      // root's credentials serve install's first sync and the units (they run as root).
      const files = { '/root/.aws/credentials': { content: CREDENTIALS, mode: 0o600 }, ...opts.files };
      return new SystemdHost(moto, proxy, await Container.boot({ ...opts, files }));
    } catch (e) {
      await proxy?.stop();
      await moto.stop();
      throw e;
    }
  }

  install(...flags: string[]): Promise<RunResult> {
    return this.c.exec(BINARY_IN_CONTAINER, ['install', '--endpoint-url', this.proxy.url, '--region', 'us-east-1', ...flags], { timeoutMs: 120_000 });
  }

  /** The locked command user's home is /nonexistent: its credentials stand in for the instance role there. */
  async giveCommandUserCredentials(): Promise<void> {
    await this.c.must('install', ['-d', '-o', 'iam-ssh', '-g', 'iam-ssh', '-m', '0700', '/nonexistent', '/nonexistent/.aws']);
    await this.c.writeFile('/nonexistent/.aws/credentials', CREDENTIALS, '0600');
    await this.c.must('chown', ['iam-ssh:iam-ssh', '/nonexistent/.aws/credentials']);
  }

  /** Journal entries with this SYSLOG_IDENTIFIER, parsed, oldest first. */
  async journal(identifier = 'iam-ssh', ...args: string[]): Promise<Record<string, string>[]> {
    const r = await this.c.must('journalctl', ['--no-pager', '-o', 'json', '-t', identifier, ...args]);
    return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, string>);
  }

  /** systemctl show's properties of a unit, as a map. */
  async show(unit: string, ...props: string[]): Promise<Record<string, string>> {
    const r = await this.c.must('systemctl', ['show', unit, ...props.flatMap((p) => ['-p', p])]);
    return Object.fromEntries(r.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  async passwd(user: string): Promise<string[] | null> {
    const r = await this.c.exec('getent', ['passwd', user]);
    return r.code === 0 ? r.stdout.trim().split(':') : null;
  }

  async stop(): Promise<void> {
    try {
      await this.c?.stop();
    } finally {
      await this.proxy?.stop();
      await this.moto?.stop();
    }
  }
}
