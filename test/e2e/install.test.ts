/**
 * `iam-ssh install` / `uninstall` against the machine's real Debian sshd_config, in a private
 * mount namespace: a real sshd started from the installed configuration lets an IAM user in;
 * a second install changes nothing; uninstall restores sshd_config byte for byte; a vendor
 * AuthorizedKeysCommand and Flatcar's symlinked stock file are handled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncEnv, AWS_ENV, BIN_IN_NS } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { Sshd, makeClientKey, sshLogin, prepareCommandUser, type ClientKey } from '../helpers/sshd';
import type { RunResult } from '../helpers/run';

const MAIN = '/etc/ssh/sshd_config';
const DROP_IN = '/etc/ssh/sshd_config.d/00-iam-ssh.conf';
const INSTALLED = '/usr/local/bin/iam-ssh';
/** Where install may write; the snapshot covers all of it. */
const WATCHED = ['/etc', '/usr/local/bin', '/var/lib/iam-ssh', '/var/cache/iam-ssh'];

rootSuite('install and uninstall', () => {
  let env: SyncEnv;
  let keyDir: string;
  let alice: ClientKey;
  let original: string;

  const install = (...flags: string[]): Promise<RunResult> =>
    env.ns.exec(BIN_IN_NS, ['install', '--authorized-groups', 'ssh-users', '--endpoint-url', env.proxy.url, '--region', 'us-east-1', ...flags], { env: AWS_ENV, timeoutMs: 120_000 });
  const uninstall = (...flags: string[]): Promise<RunResult> => env.ns.exec(INSTALLED, ['uninstall', ...flags], { env: AWS_ENV, timeoutMs: 60_000 });
  const read = async (path: string) => (await env.ns.must('cat', [path])).stdout;
  /** Path, mode, owner, size, mtime and content hash of every file below the watched places. */
  const snapshot = async () => {
    const r = await env.ns.exec('sh', ['-c', 'find "$@" -xdev \\( -type f -o -type l \\) -printf "%p %m %U %s %T@ %l\\n" 2>/dev/null | sort; find "$@" -xdev -type f -exec sha256sum {} + 2>/dev/null | sort', 'snapshot', ...WATCHED]);
    return r.stdout;
  };
  const loginWorks = async (user: string, key: ClientKey) => {
    const sshd = await Sshd.startFromFile(env.ns, MAIN);
    return sshLogin(sshd.port, user, key, ['id -un']);
  };

  beforeAll(async () => {
    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-install-'));
    alice = await makeClientKey(keyDir, 'alice');
    await env.moto.seed({ groups: ['ssh-users'], users: [{ name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: alice.publicLine }] }] });
    original = await read(MAIN);
    expect(original).toContain('Include /etc/ssh/sshd_config.d/*.conf');
  });

  afterAll(async () => {
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('--dry-run lists every file and command and changes nothing', async () => {
    const before = await snapshot();
    const r = await install('--dry-run');
    expect(r.code).toBe(0);
    for (const line of [`would install ${BIN_IN_NS} as ${INSTALLED}`, 'would write /etc/iam-ssh.conf', 'would create the locked system user iam-ssh',
      `would write ${DROP_IN}`, 'would write /etc/cron.d/iam-ssh', 'would run the first sync', 'would write /var/lib/iam-ssh/install.json']) {
      expect(r.stdout).toContain(line);
    }
    expect(await snapshot()).toBe(before);
  });

  test('install wires everything in; in file mode a real sshd from the installed config lets the IAM user in', async () => {
    const r = await install('--keys-mode', 'file');
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    expect((await env.ns.must('stat', ['-c', '%U %a', INSTALLED])).stdout.trim()).toBe('root 755');
    expect(await read('/etc/iam-ssh.conf')).toMatch(/^IAM_AUTHORIZED_GROUPS="ssh-users"$/m);
    expect(await read(DROP_IN)).toContain('AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/iam-ssh/authorized_keys/%u\n');
    expect(await read(MAIN)).toBe(original);
    const user = (await env.ns.must('getent', ['passwd', 'iam-ssh'])).stdout.split(':');
    expect(user[6]!.trim()).toMatch(/nologin$/);
    expect((await env.ns.must('getent', ['shadow', 'iam-ssh'])).stdout.split(':')[1]).toMatch(/^!/);
    expect((await env.ns.must('stat', ['-c', '%U %a', '/var/cache/iam-ssh'])).stdout.trim()).toBe('iam-ssh 700');
    expect(await read('/etc/cron.d/iam-ssh')).toMatch(/^\d-59\/10 \* \* \* \* root \/usr\/local\/bin\/iam-ssh sync /m);
    // The first sync ran: the account exists and its key file is in place. sshd reads that file;
    // no keys process runs (the command user has no AWS credentials here).
    expect(await env.passwd('alice.smith')).not.toBeNull();
    expect((await read('/etc/ssh/iam-ssh/authorized_keys/alice.smith')).split('\n').filter((l) => !l.startsWith('#'))).toEqual([alice.publicLine, '']);
    expect((await loginWorks('alice.smith', alice)).stdout.trim()).toBe('alice.smith');
    expect((await loginWorks('root', alice)).code).toBe(255);
  });

  test('a second install with the same flags changes no file', async () => {
    const before = await snapshot();
    const r = await install('--keys-mode', 'file');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to change');
    expect(await snapshot()).toBe(before);
  });

  test('uninstall removes what install added; sshd_config is byte-identical; synced users stay', async () => {
    const r = await uninstall();
    expect(r.code).toBe(0);
    expect(await read(MAIN)).toBe(original);
    for (const gone of [DROP_IN, INSTALLED, '/etc/iam-ssh.conf', '/etc/cron.d/iam-ssh', '/var/cache/iam-ssh', '/var/lib/iam-ssh/install.json']) {
      expect((await env.ns.exec('test', ['-e', gone])).code).toBe(1);
    }
    expect((await env.ns.exec('getent', ['passwd', 'iam-ssh'])).code).toBe(2);
    expect(await env.passwd('alice.smith')).not.toBeNull();
    expect(r.stdout).toContain('kept /var/lib/iam-ssh');
    // sshd -t checks the configuration that remains, which is valid: no warning.
    expect(r.stdout).not.toMatch(/sshd -t/);
  });

  test('uninstall warns when the sshd configuration that remains is invalid, naming the bad line', async () => {
    expect((await install('--no-sync')).code).toBe(0);
    await env.ns.writeFile('/etc/ssh/sshd_config.d/50-broken.conf', 'NoSuchSshdKeyword yes\n', '0644');
    const r = await uninstall();
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning: sshd -t now reports: .*50-broken\.conf/);
    expect(await read(MAIN)).toBe(original);
    await env.ns.must('rm', ['/etc/ssh/sshd_config.d/50-broken.conf']);
  });

  test.each([[[]], [['--dry-run']]])('install %j as a user other than root stops first, exit 2, planning nothing', async (flags) => {
    const asNobody = (args: string[]) => env.ns.exec('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', BIN_IN_NS, ...args], { env: AWS_ENV, timeoutMs: 60_000 });
    const r = await asNobody(['install', '--authorized-groups', 'ssh-users', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('iam-ssh install must be run as root');
    expect(r.stdout).toBe('');
    const u = await asNobody(['uninstall', ...flags]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('iam-ssh uninstall must be run as root');
  });

  test('command mode with a command user that was already there: login through the keys command; uninstall keeps that user', async () => {
    // A command user made beforehand, with AWS credentials standing in for the instance role.
    await prepareCommandUser(env.ns);
    const r = await install();
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('create the locked system user');
    expect(await read(DROP_IN)).toContain(`AuthorizedKeysCommand ${INSTALLED} keys %u %f\nAuthorizedKeysCommandUser iam-ssh\n`);
    expect((await loginWorks('alice.smith', alice)).stdout.trim()).toBe('alice.smith');
    expect((await uninstall()).code).toBe(0);
    expect(await read(MAIN)).toBe(original);
    expect((await env.ns.exec('getent', ['passwd', 'iam-ssh'])).code).toBe(0);
  });

  test("a vendor AuthorizedKeysCommand ahead of the Include: ours goes on top, the vendor's is reported, uninstall restores it", async () => {
    const vendor = 'AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f\nAuthorizedKeysCommandUser ec2-instance-connect\n' + original;
    await env.ns.writeFile(MAIN, vendor, '0644');
    const r = await install();
    expect(r.code).toBe(0);
    // Its program is not there, so keys would refuse it: not chained, and said so.
    expect(r.stdout).toMatch(/warning: \/etc\/ssh\/sshd_config:1: AuthorizedKeysCommand \/opt\/aws\/bin\/eic_run_authorized_keys %u %f cannot be chained \(\/opt\/aws\/bin\/eic_run_authorized_keys cannot be resolved: ENOENT\)/);
    expect(r.stdout).toMatch(/note: \/etc\/ssh\/sshd_config:1 AuthorizedKeysCommand \/opt\/aws\/bin\/eic_run_authorized_keys %u %f no longer runs/);
    const text = await read(MAIN);
    expect(text.startsWith('# BEGIN iam-ssh')).toBe(true);
    expect(text.endsWith(vendor)).toBe(true);
    const eff = (await env.ns.must('/usr/sbin/sshd', ['-T', '-C', 'user=alice.smith,host=localhost,addr=127.0.0.1'])).stdout;
    expect(eff).toContain(`authorizedkeyscommand ${INSTALLED} keys %u %f`);
    expect((await loginWorks('alice.smith', alice)).stdout.trim()).toBe('alice.smith');
    expect((await uninstall()).code).toBe(0);
    expect(await read(MAIN)).toBe(vendor);
    await env.ns.writeFile(MAIN, original, '0644');
  });

  test("Flatcar's symlinked stock sshd_config without Include becomes a file with our block, and the symlink comes back", async () => {
    const stock = original.replace(/^Include .*\n/m, '');
    await env.ns.writeFile('/etc/ssh/stock_sshd_config', stock, '0644');
    await env.ns.must('ln', ['-sf', 'stock_sshd_config', MAIN]);
    expect((await install('--no-sync')).code).toBe(0);
    expect((await env.ns.exec('test', ['-L', MAIN])).code).toBe(1);
    expect(await read(MAIN)).toMatch(/^# BEGIN iam-ssh[^]*# END iam-ssh\n/);
    expect(await read('/etc/ssh/stock_sshd_config')).toBe(stock);
    expect((await uninstall()).code).toBe(0);
    expect((await env.ns.must('readlink', [MAIN])).stdout.trim()).toBe('stock_sshd_config');
    await env.ns.must('rm', ['-f', MAIN, '/etc/ssh/stock_sshd_config']);
    await env.ns.writeFile(MAIN, original, '0644');
  });

  test('a configuration sshd rejects is put back as it was, and install fails', async () => {
    await env.ns.writeFile('/etc/ssh/sshd_config.d/50-broken.conf', 'NoSuchSshdKeyword yes\n', '0644');
    const r = await install('--no-sync');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/sshd configuration not changed: sshd -t rejects/);
    expect((await env.ns.exec('test', ['-e', DROP_IN])).code).toBe(1);
    expect(await read(MAIN)).toBe(original);
    await env.ns.must('rm', ['/etc/ssh/sshd_config.d/50-broken.conf']);
  });
});
