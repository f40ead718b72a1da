/** Shared set-up for sync tests: moto behind a proxy, a namespace with the binary installed. */
import { Moto, TEST_CREDENTIALS } from './moto';
import { IamProxy } from './iam-proxy';
import { MountNamespace } from './namespace';
import { requireBinary, type RunResult } from './run';

export const BIN_IN_NS = '/usr/local/sbin/iam-ssh';
export const AWS_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };

export class SyncEnv {
  private constructor(
    readonly moto: Moto,
    readonly proxy: IamProxy,
    readonly ns: MountNamespace,
  ) {}

  static async start(): Promise<SyncEnv> {
    const moto = await Moto.start();
    const proxy = await IamProxy.start(moto.url);
    const ns = await MountNamespace.create();
    await ns.must('install', ['-o', 'root', '-g', 'root', '-m', '0755', requireBinary(), BIN_IN_NS]);
    return new SyncEnv(moto, proxy, ns);
  }

  async config(settings: Record<string, string>): Promise<void> {
    const all = { AWS_ENDPOINT_URL: this.proxy.url, ...settings };
    await this.ns.writeFile('/etc/iam-ssh.conf', Object.entries(all).map(([k, v]) => `${k}="${v}"`).join('\n') + '\n');
  }

  sync(...args: string[]): Promise<RunResult> {
    return this.ns.exec(BIN_IN_NS, ['sync', '--wait', '0', ...args], { env: AWS_ENV, timeoutMs: 120_000 });
  }

  async passwd(user: string): Promise<string[] | null> {
    const r = await this.ns.exec('getent', ['passwd', user]);
    return r.code === 0 ? r.stdout.trim().split(':') : null;
  }

  async groupsOf(user: string): Promise<string[]> {
    const r = await this.ns.exec('id', ['-nG', user]);
    return r.code === 0 ? r.stdout.trim().split(/\s+/).sort() : [];
  }

  async stop(): Promise<void> {
    await this.ns?.stop();
    await this.proxy?.stop();
    await this.moto?.stop();
  }
}
