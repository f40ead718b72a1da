/**
 * End to end in file mode: `sync` writes the AuthorizedKeysFiles, and a real sshd with its
 * default StrictModes reads them (no AuthorizedKeysCommand at all). A key removed in IAM stops
 * working at the next sync.
 */
import { DeleteSSHPublicKeyCommand, ListSSHPublicKeysCommand } from '@aws-sdk/client-iam';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncEnv } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { Sshd, makeClientKey, sshLogin, type ClientKey } from '../helpers/sshd';
import { authorizedKeysFilePattern, DEFAULT_KEYS_FILE_DIR } from '../../src/keys/file-mode';


rootSuite('ssh login in file mode (KEYS_MODE=file)', () => {
  let env: SyncEnv;
  let keyDir: string;
  let alice: ClientKey;
  let bob: ClientKey;
  let sshd: Sshd;

  beforeAll(async () => {
    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-e2e-file-'));
    alice = await makeClientKey(keyDir, 'alice');
    bob = await makeClientKey(keyDir, 'bob');
    await env.moto.seed({
      groups: ['ssh-users'],
      users: [
        { name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: alice.publicLine }] },
        { name: 'Bob', groups: ['ssh-users'], keys: [{ body: bob.publicLine }] },
      ],
    });
    await env.config({ IAM_AUTHORIZED_GROUPS: 'ssh-users', KEYS_MODE: 'file' });
    const r = await env.sync();
    if (r.code !== 0) throw new Error(`sync failed: ${r.stderr}`);
    sshd = await Sshd.start(env.ns, [
      'UsePAM no',
      'StrictModes yes',
      `AuthorizedKeysFile .ssh/authorized_keys ${authorizedKeysFilePattern(DEFAULT_KEYS_FILE_DIR)}`,
    ]);
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('sshd accepts the files sync wrote (root-owned all the way up) and binds each key to its user', async () => {
    const ok = await sshLogin(sshd.port, 'alice.smith', alice, ['id', '-un']);
    expect(ok.stdout).toBe('alice.smith\n');
    expect((await sshLogin(sshd.port, 'bob', bob, ['id', '-un'])).stdout).toBe('bob\n');
    expect((await sshLogin(sshd.port, 'alice.smith', bob, ['true'])).code).toBe(255);
    expect(sshd.output).not.toMatch(/bad ownership or modes/);
  });

  test('a key deleted in IAM no longer logs in after the next sync', async () => {
    const c = env.moto.iam();
    const listed = await c.send(new ListSSHPublicKeysCommand({ UserName: 'Alice.Smith' }));
    await c.send(new DeleteSSHPublicKeyCommand({ UserName: 'Alice.Smith', SSHPublicKeyId: listed.SSHPublicKeys![0]!.SSHPublicKeyId! }));
    c.destroy();
    expect((await sshLogin(sshd.port, 'alice.smith', alice, ['true'])).code).toBe(0);
    expect((await env.sync()).code).toBe(0);
    expect((await sshLogin(sshd.port, 'alice.smith', alice, ['true'])).code).toBe(255);
    expect((await sshLogin(sshd.port, 'bob', bob, ['true'])).code).toBe(0);
  });
});
