/**
 * `iam-ssh install` on a host where aws-ec2-ssh was installed, in a private mount namespace over
 * the machine's real Debian sshd_config: the "before" state is built as aws-ec2-ssh's install.sh
 * leaves a host (its cron file, its two scripts under /opt, the two lines it appends to
 * sshd_config, /etc/aws-ec2-ssh.conf). install moves the schedule aside before iam-ssh's first
 * sync, comments out the sshd lines, and a real `sshd -T` proves iam-ssh's command is the one in
 * force; doctor judges the schedule through the same detection; uninstall leaves aws-ec2-ssh
 * disabled and says how to bring it back.
 */
import { SyncEnv, AWS_ENV, BIN_IN_NS } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import type { RunResult } from '../helpers/run';
import type { CheckResult } from '../../src/doctor/facts';

const MAIN = '/etc/ssh/sshd_config';
const INSTALLED = '/usr/local/bin/iam-ssh';
const CRON = '/etc/cron.d/import_users';
const KEPT = '/var/lib/iam-ssh/aws-ec2-ssh/import_users';
/** What aws-ec2-ssh's install.sh writes as its schedule, byte for byte. */
const CRON_TEXT = [
  'SHELL=/bin/bash',
  'PATH=/usr/local/bin:/bin:/usr/bin:/usr/local/sbin:/usr/sbin:/sbin:/opt/aws/bin',
  'MAILTO=root',
  'HOME=/',
  '*/10 * * * * root /opt/import_users.sh',
  '',
].join('\n');
const LEGACY_SSHD = ['AuthorizedKeysCommand /opt/authorized_keys_command.sh', 'AuthorizedKeysCommandUser nobody'];
const LEGACY_CONF = 'IAM_AUTHORIZED_GROUPS="ssh-users"\nLOCAL_MARKER_GROUP="iam-synced-users"\nLOCAL_GROUPS=""\nSUDOERS_GROUPS=""\nASSUMEROLE=""\nDONOTSYNC=0\n';
const MARK = '# aws-ec2-ssh, disabled by iam-ssh install: ';
/** Where install may write; the snapshot covers all of it. */
const WATCHED = ['/etc', '/opt', '/usr/local/bin', '/var/lib/iam-ssh', '/var/cache/iam-ssh'];

rootSuite('install takes over from aws-ec2-ssh', () => {
  let env: SyncEnv;
  let original: string;
  let withLegacy: string;

  const install = (...flags: string[]): Promise<RunResult> =>
    env.ns.exec(BIN_IN_NS, ['install', '--endpoint-url', env.proxy.url, '--region', 'us-east-1', ...flags], { env: AWS_ENV, timeoutMs: 120_000 });
  const read = (path: string) => env.ns.readFile(path);
  const exists = async (path: string) => (await env.ns.exec('test', ['-e', path])).code === 0;
  const effective = async () => (await env.ns.must('/usr/sbin/sshd', ['-T', '-C', 'user=alice.smith,host=localhost,addr=127.0.0.1'])).stdout;
  const snapshot = async () =>
    (await env.ns.exec('sh', ['-c', 'find "$@" -xdev \\( -type f -o -type l \\) -printf "%p %m %U %s %T@ %l\\n" 2>/dev/null | sort; find "$@" -xdev -type f -exec sha256sum {} + 2>/dev/null | sort', 'snapshot', ...WATCHED])).stdout;
  const legacyCheck = async (binary: string): Promise<CheckResult> => {
    const r = await env.ns.exec(binary, ['doctor', '--json'], { env: AWS_ENV, timeoutMs: 60_000 });
    const doc = JSON.parse(r.stdout) as { checks: CheckResult[] };
    const check = doc.checks.find((c) => c.id === 'legacy-schedule');
    if (!check) throw new Error(`doctor has no legacy-schedule check: ${r.stdout}${r.stderr}`);
    return check;
  };

  beforeAll(async () => {
    env = await SyncEnv.start();
    await env.moto.seed({ groups: ['ssh-users'], users: [{ name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOfAliceForLegacyTests alice' }] }] });
    // /opt of this namespace only: aws-ec2-ssh's scripts live there.
    await env.ns.must('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'opt', '/opt']);
    original = await read(MAIN);
    expect(original).toContain('Include /etc/ssh/sshd_config.d/*.conf');
    // The state aws-ec2-ssh's install.sh leaves: scripts, config, appended sshd lines, cron file.
    for (const script of ['/opt/import_users.sh', '/opt/authorized_keys_command.sh']) {
      await env.ns.writeFile(script, '#!/bin/bash\n# stand-in for aws-ec2-ssh\nexit 0\n', '0755');
    }
    await env.ns.writeFile('/etc/aws-ec2-ssh.conf', LEGACY_CONF, '0644');
    withLegacy = original + (original.endsWith('\n') ? '' : '\n') + LEGACY_SSHD.join('\n') + '\n';
    await env.ns.writeFile(MAIN, withLegacy, '0644');
    await env.ns.writeFile(CRON, CRON_TEXT, '0644');
  }, 60_000);

  afterAll(async () => env?.stop());

  test("before install: sshd runs aws-ec2-ssh's command and doctor fails the legacy check", async () => {
    expect(await effective()).toContain('authorizedkeyscommand /opt/authorized_keys_command.sh');
    const check = await legacyCheck(BIN_IN_NS);
    expect(check.status).toBe('fail');
    expect(check.summary).toContain(CRON);
    expect(check.fix).toMatch(/iam-ssh install/);
  });

  test('--dry-run lists each piece of aws-ec2-ssh and what install does to it, and changes nothing', async () => {
    const before = await snapshot();
    const r = await install('--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would move ${CRON} to ${KEPT}`);
    expect(r.stdout).toMatch(/would comment out \/etc\/ssh\/sshd_config:\d+ AuthorizedKeysCommand \/opt\/authorized_keys_command.sh/);
    expect(r.stdout).toMatch(/would comment out \/etc\/ssh\/sshd_config:\d+ AuthorizedKeysCommandUser nobody/);
    for (const kept of ['/opt/import_users.sh', '/opt/authorized_keys_command.sh', '/etc/aws-ec2-ssh.conf']) expect(r.stdout).toMatch(new RegExp(`keep ${kept}\\b`));
    // The schedule goes before the first sync, so the two never run together.
    expect(r.stdout.indexOf(`would move ${CRON}`)).toBeLessThan(r.stdout.indexOf('would run the first sync'));
    expect(await snapshot()).toBe(before);
  });

  test("install moves the schedule aside, comments out the sshd lines, and sshd -T shows iam-ssh's command", async () => {
    const r = await install();
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('importing the settings of /etc/aws-ec2-ssh.conf');
    expect(r.stdout.indexOf(`move ${CRON}`)).toBeLessThan(r.stdout.indexOf('run the first sync'));
    expect(await exists(CRON)).toBe(false);
    expect(await read(KEPT)).toBe(CRON_TEXT);
    expect((await env.ns.must('stat', ['-c', '%U %a', KEPT])).stdout.trim()).toBe('root 644');
    const text = await read(MAIN);
    for (const line of LEGACY_SSHD) {
      expect(text).toContain(`\n${MARK}${line}\n`);
      expect(text).not.toMatch(new RegExp(`^${line}$`, 'm'));
    }
    const eff = await effective();
    expect(eff).toContain(`authorizedkeyscommand ${INSTALLED} keys %u %f`);
    expect(eff).toContain('authorizedkeyscommanduser iam-ssh');
    for (const kept of ['/opt/import_users.sh', '/opt/authorized_keys_command.sh', '/etc/aws-ec2-ssh.conf']) expect(await exists(kept)).toBe(true);
    expect(await read('/etc/aws-ec2-ssh.conf')).toBe(LEGACY_CONF);
    expect(JSON.parse(await read('/var/lib/iam-ssh/install.json')).legacy).toEqual({ cron: [{ from: CRON, to: KEPT }], sshd: { path: MAIN, lines: 2 } });
  });

  test('a second install changes nothing', async () => {
    const before = await snapshot();
    const r = await install();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to change');
    expect(await snapshot()).toBe(before);
  });

  test('doctor passes the legacy check after install, fails it when the cron file is put back; install takes over again', async () => {
    expect(await legacyCheck(INSTALLED)).toMatchObject({ status: 'ok', summary: expect.stringContaining(KEPT) });
    await env.ns.must('cp', ['-p', KEPT, CRON]);
    const check = await legacyCheck(INSTALLED);
    expect(check.status).toBe('fail');
    expect(check.summary).toContain(CRON);
    expect(check.fix).toMatch(/iam-ssh install/);
    const r = await install();
    expect(r.code).toBe(0);
    expect(await exists(CRON)).toBe(false);
    expect(await read(KEPT)).toBe(CRON_TEXT);
    expect((await legacyCheck(INSTALLED)).status).toBe('ok');
  });

  test('uninstall leaves aws-ec2-ssh disabled and prints how to restore it', async () => {
    // --remove-users: STATE_DIR goes too, but never the only copy of aws-ec2-ssh's schedule.
    const r = await env.ns.exec(INSTALLED, ['uninstall', '--remove-users'], { env: AWS_ENV, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(await exists(CRON)).toBe(false);
    expect(await read(KEPT)).toBe(CRON_TEXT);
    expect(r.stdout).toContain(`mv ${KEPT} ${CRON}`);
    expect(r.stdout).toContain(`sed -i 's/^${MARK}//' ${MAIN}`);
    // Following the printed hint restores aws-ec2-ssh's sshd lines byte for byte.
    await env.ns.must('sed', ['-i', `s/^${MARK}//`, MAIN]);
    expect(await read(MAIN)).toBe(withLegacy);
  });

  test('a schedule of import_users.sh elsewhere stops install before it changes anything', async () => {
    await env.ns.must('sh', ['-c', 'if [ -e /etc/crontab ]; then cp -p /etc/crontab /etc/crontab.orig; fi; echo "*/10 * * * * root /opt/import_users.sh" >> /etc/crontab']);
    const before = await snapshot();
    const r = await install();
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/\/etc\/crontab:\d+ runs aws-ec2-ssh's import_users.sh/);
    expect(await snapshot()).toBe(before);
    expect(r.stdout).not.toContain('would ');
    await env.ns.must('sh', ['-c', 'if [ -e /etc/crontab.orig ]; then mv /etc/crontab.orig /etc/crontab; else rm /etc/crontab; fi']);
  });
});
