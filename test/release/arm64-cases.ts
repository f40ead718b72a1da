/**
 * The released arm64 executable, run under qemu-user (invoked directly: no binfmt_misc here),
 * against moto in a private mount namespace: --version, sync --dry-run, a real sync, then keys
 * on a cache miss (the entry appears) and a cache hit (served with IAM stopped), and a refusal. Emulation makes each start take seconds: generous timeouts.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Moto, TEST_CREDENTIALS } from '../helpers/moto';
import { MountNamespace, rootSuite } from '../helpers/namespace';
import type { RunResult } from '../helpers/run';
import { makeClientKey, type ClientKey } from '../helpers/sshd';
import type { Release } from './artifacts';

const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];
const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };

export function arm64Cases(get: () => Release): void {
  rootSuite('the arm64 executable under qemu-user', () => {
    let moto: Moto;
    let ns: MountNamespace;
    let dir: string;
    let key: ClientKey;
    const arm = (...args: string[]): Promise<RunResult> => ns.exec(QEMU[0]!, [...QEMU.slice(1), join(get().a, 'iam-ssh-linux-arm64'), ...args], { env, timeoutMs: 180_000 });

    beforeAll(async () => {
      moto = await Moto.start();
      ns = await MountNamespace.create();
      dir = mkdtempSync(join(get().scratch, 'arm64-'));
      key = await makeClientKey(dir, 'alice');
      await moto.seed({ groups: ['ssh-users'], users: [{ name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: key.publicLine }] }, { name: 'mallory', keys: [{ body: key.publicLine }] }] });
    });
    afterAll(async () => {
      await ns?.stop();
      await moto?.stop();
    });

    test('--version says it is the arm64 build, running as arm64', async () => {
      const r = await arm('--version', '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ name: 'iam-ssh', commit: get().commit, target: 'linux-arm64' });
    });

    test('sync --dry-run plans, sync creates the account, keys answers a miss from IAM then a hit from its cache', async () => {
      const cfg = join(dir, 'iam-ssh.conf');
      const settings = {
        AWS_ENDPOINT_URL: moto.url,
        AWS_REGION: 'us-east-1',
        IAM_AUTHORIZED_GROUPS: 'ssh-users',
        STATE_DIR: join(dir, 'state'),
        CACHE_DIR: join(dir, 'cache'),
        // Emulated, a start takes seconds; the deadline is for real logins.
        KEYS_TIMEOUT: '30s',
      };
      writeFileSync(cfg, Object.entries(settings).map(([k, v]) => `${k}="${v}"`).join('\n') + '\n');
      mkdirSync(join(dir, 'cache'), { mode: 0o700 });

      const dry = await arm('--config', cfg, 'sync', '--dry-run');
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('alice.smith');
      expect((await ns.exec('getent', ['passwd', 'alice.smith'])).code).toBe(2);

      const sync = await arm('--config', cfg, 'sync');
      expect({ code: sync.code, stderr: sync.code === 0 ? '' : sync.stderr }).toEqual({ code: 0, stderr: '' });
      expect((await ns.exec('getent', ['passwd', 'alice.smith'])).code).toBe(0);

      // A miss: no cache entry before, IAM answers, the entry is written.
      const entry = join(dir, 'cache', 'keys', 'alice.smith.json');
      expect(existsSync(entry)).toBe(false);
      const miss = await arm('--config', cfg, 'keys', 'alice.smith');
      expect(miss.code).toBe(0);
      expect(miss.stdout).toBe(`${key.publicLine}\n`);
      expect(existsSync(entry)).toBe(true);

      // A hit: with IAM gone, a fresh entry is still served (a miss would print nothing).
      await moto.stop();
      const hit = await arm('--config', cfg, 'keys', 'alice.smith');
      expect(hit.code).toBe(0);
      expect(hit.stdout).toBe(`${key.publicLine}\n`);

      const refused = await arm('--config', cfg, 'keys', 'mallory');
      expect(refused.code).toBe(0);
      expect(refused.stdout).toBe('');
    });
  });
}
