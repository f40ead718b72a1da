/**
 * moto's server as the IAM/SSM/STS emulator: started on a free loopback port, reset between
 * tests, stopped at the end. Seeding goes through the SDK (the CLI costs ~0.5 s a call).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  IAMClient, CreateUserCommand, CreateGroupCommand, AddUserToGroupCommand, UploadSSHPublicKeyCommand,
  UpdateSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTESTTESTTEST', secretAccessKey: 'test-secret' };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export class Moto {
  private constructor(
    private readonly proc: ChildProcess,
    readonly url: string,
  ) {}

  static async start(): Promise<Moto> {
    const port = await freePort();
    const proc = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const url = `http://127.0.0.1:${port}`;
    const until = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`moto_server exited: ${stderr}`);
      try {
        const res = await fetch(`${url}/moto-api/`);
        if (res.ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > until) {
        proc.kill('SIGKILL');
        throw new Error(`moto_server did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return new Moto(proc, url);
  }

  async reset(): Promise<void> {
    const res = await fetch(`${this.url}/moto-api/reset`, { method: 'POST' });
    if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  iam(): IAMClient {
    return new IAMClient({ region: 'us-east-1', endpoint: this.url, credentials: TEST_CREDENTIALS });
  }

  /** Creates users with keys and group memberships; returns the key ids by user. */
  async seed(spec: SeedSpec): Promise<Record<string, string[]>> {
    const iam = this.iam();
    for (const g of spec.groups ?? []) await iam.send(new CreateGroupCommand({ GroupName: g }));
    const ids: Record<string, string[]> = {};
    for (const u of spec.users) {
      await iam.send(new CreateUserCommand({ UserName: u.name }));
      for (const g of u.groups ?? []) await iam.send(new AddUserToGroupCommand({ GroupName: g, UserName: u.name }));
      ids[u.name] = [];
      for (const k of u.keys ?? []) {
        const res = await iam.send(new UploadSSHPublicKeyCommand({ UserName: u.name, SSHPublicKeyBody: k.body }));
        const id = res.SSHPublicKey!.SSHPublicKeyId!;
        ids[u.name]!.push(id);
        if (k.inactive) await iam.send(new UpdateSSHPublicKeyCommand({ UserName: u.name, SSHPublicKeyId: id, Status: 'Inactive' }));
      }
    }
    iam.destroy();
    return ids;
  }
}

export interface SeedSpec {
  groups?: string[];
  users: { name: string; groups?: string[]; keys?: { body: string; inactive?: boolean }[] }[];
}
