/**
 * End to end after sync: accounts created by `iam-ssh sync` log in through a real sshd
 * (with UsePAM no and with UsePAM yes), and sudo follows the sudo IAM group.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncEnv } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { Sshd, makeClientKey, sshLogin, prepareCommandUser, type ClientKey } from '../helpers/sshd';


rootSuite('ssh login and sudo for accounts made by sync', () => {
  let env: SyncEnv;
  let keyDir: string;
  let admin: ClientKey;
  let dev: ClientKey;
  const daemons: Sshd[] = [];

  beforeAll(async () => {
    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-e2e-'));
    admin = await makeClientKey(keyDir, 'admin');
    dev = await makeClientKey(keyDir, 'dev');
    await env.moto.seed({
      groups: ['ssh-users', 'ssh-admins'],
      users: [
        { name: 'Grace.Hopper@Navy.example', groups: ['ssh-users', 'ssh-admins'], keys: [{ body: admin.publicLine }] },
        { name: 'Linus', groups: ['ssh-users'], keys: [{ body: dev.publicLine }] },
      ],
    });
    await env.config({ IAM_AUTHORIZED_GROUPS: 'ssh-users', SUDOERS_GROUPS: 'ssh-admins' });
    const ns = env.ns;
    await prepareCommandUser(ns);
    const r = await env.sync();
    if (r.code !== 0) throw new Error(`sync failed: ${r.stderr}`);
  });

  afterAll(async () => {
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  for (const usePam of ['no', 'yes']) {
    test(`UsePAM ${usePam}: the mapped name of an upper-case IAM user logs in; sudo only for the sudo group`, async () => {
      const sshd = await Sshd.start(env.ns, [
        `UsePAM ${usePam}`,
        'AuthorizedKeysFile none',
        'AuthorizedKeysCommand /usr/local/sbin/iam-ssh keys %u %f',
        'AuthorizedKeysCommandUser iam-ssh',
      ]);
      daemons.push(sshd);
      const grace = await sshLogin(sshd.port, 'grace.hopper.at.navy.example', admin, ['id -un && sudo -n true && echo SUDO-OK']);
      expect(grace.stdout.split('\n')).toEqual(['grace.hopper.at.navy.example', 'SUDO-OK', '']);
      const linus = await sshLogin(sshd.port, 'linus', dev, ['id -un; sudo -n true 2>/dev/null && echo SUDO-OK || echo SUDO-DENIED']);
      expect(linus.stdout.split('\n')).toEqual(['linus', 'SUDO-DENIED', '']);
      // Keys are bound to the IAM user: another member's key does not open this account.
      const wrong = await sshLogin(sshd.port, 'linus', admin, ['true']);
      expect(wrong.code).toBe(255);
    });
  }
});
