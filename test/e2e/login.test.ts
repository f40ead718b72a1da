/**
 * End to end: a real sshd in a private mount namespace runs the built binary as its
 * AuthorizedKeysCommand (configured through aws-ec2-ssh's legacy config file, as after a
 * binary swap), and a real ssh client logs in with keys that exist only in the emulator's IAM,
 * to the accounts `iam-ssh sync` made, and to no other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Moto, TEST_CREDENTIALS } from '../helpers/moto';
import { MountNamespace, rootSuite } from '../helpers/namespace';
import { Sshd, makeClientKey, sshLogin, prepareCommandUser, type ClientKey } from '../helpers/sshd';
import { requireBinary, logLines } from '../helpers/run';


rootSuite('ssh login through sshd with keys from IAM', () => {
  let moto: Moto;
  let ns: MountNamespace;
  let sshd: Sshd;
  let keyDir: string;
  let active: ClientKey;
  let inactive: ClientKey;
  let outsider: ClientKey;
  let intruder: ClientKey;
  let ids: Record<string, string[]>;

  beforeAll(async () => {
    const bin = requireBinary();
    moto = await Moto.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-e2e-'));
    active = await makeClientKey(keyDir, 'active');
    inactive = await makeClientKey(keyDir, 'inactive');
    outsider = await makeClientKey(keyDir, 'outsider');
    intruder = await makeClientKey(keyDir, 'intruder');
    ids = await moto.seed({
      groups: ['ssh-users'],
      users: [
        { name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: active.publicLine }, { body: inactive.publicLine, inactive: true }] },
        { name: 'Outsider', keys: [{ body: outsider.publicLine }] },
        // An authorized IAM user named like the image's own admin account.
        { name: 'ubuntu', groups: ['ssh-users'], keys: [{ body: intruder.publicLine }] },
      ],
    });
    ns = await MountNamespace.create();
    await ns.must('install', ['-o', 'root', '-g', 'root', '-m', '0755', bin, '/usr/local/sbin/iam-ssh']);
    await prepareCommandUser(ns);
    await ns.writeFile('/etc/aws-ec2-ssh.conf',
      `# aws-ec2-ssh config, read as is\nIAM_AUTHORIZED_GROUPS="ssh-users"\nLOCAL_MARKER_GROUP="iam-synced-users"\nDONOTSYNC=0\nAWS_ENDPOINT_URL="${moto.url}"\n`);
    // Accounts that were here before iam-ssh: the image's admin (in sudo) and a local user.
    for (const user of ['outsider', 'ubuntu']) {
      await ns.must('useradd', ['--create-home', '--shell', '/bin/sh', '--password', '*', ...(user === 'ubuntu' ? ['--groups', 'sudo'] : []), user]);
    }
    sshd = await Sshd.start(ns, [
      'UsePAM no',
      'AuthorizedKeysFile none',
      'AuthorizedKeysCommand /usr/local/sbin/iam-ssh keys %u %f',
      'AuthorizedKeysCommandUser iam-ssh',
    ]);
  });

  afterAll(async () => {
    await ns?.stop();
    await moto?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('before any sync, an IAM user named like an existing local account cannot log in to it', async () => {
    const r = await sshLogin(sshd.port, 'ubuntu', intruder, ['id']);
    expect(r.code).toBe(255);
    expect(logLines(sshd.output).some((l) => l.event === 'keys.refused' && l.user === 'ubuntu' && l.reason === 'not an account iam-ssh created or adopted')).toBe(true);
    const sync = await ns.exec('/usr/local/sbin/iam-ssh', ['sync'], { env: { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    expect(sync.stderr).toMatch(/"event":"sync.done"/);
  });

  test('after sync, the same IAM user still cannot reach the local account sync did not make', async () => {
    const r = await sshLogin(sshd.port, 'ubuntu', intruder, ['id']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  test('an authorized IAM user with an upper-case name logs in with an Active key', async () => {
    const r = await sshLogin(sshd.port, 'alice.smith', active, ['id', '-un']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('alice.smith');
    // The audit line names the IAM user and the IAM key id that sshd accepted.
    const served = logLines(sshd.output).filter((l) => l.event === 'keys.served');
    expect(served.some((l) => l.iamUser === 'Alice.Smith' && l.matchedKeyId === ids['Alice.Smith']![0])).toBe(true);
    expect(sshd.output).toMatch(/Accepted publickey for alice\.smith/);
  });

  test('the Inactive key of the same user is refused', async () => {
    const r = await sshLogin(sshd.port, 'alice.smith', inactive, ['true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  test('a user outside the authorized groups is refused although the account and IAM key exist', async () => {
    const r = await sshLogin(sshd.port, 'outsider', outsider, ['true']);
    expect(r.code).toBe(255);
    expect(logLines(sshd.output).some((l) => l.event === 'keys.refused' && l.user === 'outsider')).toBe(true);
  });

  test('the keys command runs as the unprivileged command user and its cache is private to it', async () => {
    const r = await ns.must('stat', ['-c', '%U %a', '/var/cache/iam-ssh/keys/alice.smith.json']);
    expect(r.stdout.trim()).toBe('iam-ssh 600');
  });
});
