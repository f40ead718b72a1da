/**
 * `iam-ssh doctor` run as the real binary inside a private mount namespace (overlay over /etc
 * and /var), with the real sshd -T, getent and moto behind the faulting proxy. Each test
 * breaks one thing, checks that doctor names it with a fix and exits 1, and repairs it.
 */
import { AddUserToGroupCommand, RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { freePort } from '../helpers/moto';
import type { CheckResult } from '../../src/doctor/facts';

const DROP_IN = '/etc/ssh/sshd_config.d/10-iam-ssh.conf';
const HOST_KEY = '/etc/ssh/iam-ssh-doctor-host-key';
const CRON = '/etc/cron.d/iam-ssh';

interface Report {
  code: number | null;
  checks: Record<string, CheckResult>;
}

rootSuite('doctor on a real host set-up', () => {
  let env: SyncEnv;
  const settings = { IAM_AUTHORIZED_GROUPS: 'ssh-users' };

  async function doctor(...args: string[]): Promise<Report> {
    const r = await env.ns.exec(BIN_IN_NS, ['doctor', '--json', ...args], { env: AWS_ENV, timeoutMs: 60_000 });
    let doc: { checks: CheckResult[]; ok: boolean; version: number };
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
    }
    expect(doc.version).toBe(1);
    expect(doc.ok).toBe(r.code === 0);
    return { code: r.code, checks: Object.fromEntries(doc.checks.map((c) => [c.id, c])) };
  }

  async function sshdPointsAt(binary: string): Promise<void> {
    // The only host key of this sshd, so that a bad mode on it is what breaks sshd.
    await env.ns.writeFile(DROP_IN, `AuthorizedKeysCommand ${binary} keys %u %f\nAuthorizedKeysCommandUser iam-ssh\nHostKey ${HOST_KEY}\n`, '0644');
  }

  beforeAll(async () => {
    env = await SyncEnv.start();
    await env.moto.seed({
      groups: ['ssh-users'],
      users: [{ name: 'Alice', groups: ['ssh-users'], keys: [{ body: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOfAliceForDoctorTests alice' }] }],
    });
    await env.config(settings);
    await env.ns.must('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', HOST_KEY]);
    await sshdPointsAt(BIN_IN_NS);
  }, 60_000);
  afterAll(async () => env?.stop());

  test('without the command user: command-user fails with a fix, exit 1', async () => {
    // A cache directory made by root before the user exists is root's, not private to anyone named.
    await env.ns.must('install', ['-d', '-m', '0700', '/var/cache/iam-ssh']);
    const r = await doctor();
    expect(r.code).toBe(1);
    expect(r.checks['command-user']).toMatchObject({ status: 'fail', summary: expect.stringMatching(/iam-ssh does not exist/), fix: expect.stringMatching(/useradd --system/) });
    expect(r.checks['cache-dir']).toMatchObject({
      status: 'fail',
      summary: '/var/cache/iam-ssh is owned by root, and the command user iam-ssh does not exist: keys cannot cache',
      fix: expect.stringMatching(/^useradd --system .* iam-ssh && chown iam-ssh \/var\/cache\/iam-ssh/),
    });
    expect(r.checks['sshd-config']!.status).toBe('ok');
    expect(r.checks['keys-command']).toMatchObject({ status: 'ok', summary: expect.stringContaining(`${BIN_IN_NS} keys %u %f`) });
    expect(r.checks['last-sync']!.status).toBe('warn');
  });

  test('a healthy set-up passes every check and exits 0', async () => {
    await env.ns.must('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', 'iam-ssh']);
    await env.ns.must('install', ['-d', '-o', 'iam-ssh', '-m', '0700', '/var/cache/iam-ssh']);
    await env.ns.writeFile(CRON, `*/10 * * * * root ${BIN_IN_NS} sync\n`, '0644');
    expect((await env.sync()).code).toBe(0);
    const r = await doctor();
    const notOk = Object.values(r.checks).filter((c) => c.status !== 'ok');
    // Skipped because not configured here: SNAPSHOT_URL, KEYS_CHAIN_COMMAND and SSM_CONFIG_PATH; no journald runs here.
    expect(notOk.map((c) => [c.id, c.status]).sort()).toEqual([['access-snapshot', 'skip'], ['journald-cap', 'skip'], ['keys-chain', 'skip'], ['ssm', 'skip']]);
    expect(r.code).toBe(0);
    expect(r.checks['sync-schedule']!.summary).toMatch(/cron runs sync/);
    expect(r.checks['last-sync']!.summary).toMatch(/succeeded/);
    expect(r.checks['aws-credentials']!.summary).toMatch(/^credentials resolve to arn:aws:/);
    expect(r.checks.iam!.summary).toMatch(/GetGroup on ssh-users \(1 users\) and ListSSHPublicKeys on Alice/);
    expect(r.checks.clock!.status).toBe('ok');
  });

  test('a host key at 0777 fails host-keys (and sshd) with the chmod that fixes it', async () => {
    await env.ns.must('chmod', ['0777', HOST_KEY]);
    try {
      const r = await doctor();
      expect(r.code).toBe(1);
      expect(r.checks['host-keys']).toMatchObject({ status: 'fail', summary: expect.stringContaining(`${HOST_KEY} has mode 0777`), fix: `chown root:root ${HOST_KEY} && chmod 0600 ${HOST_KEY}` });
      expect(r.checks['sshd-config']).toMatchObject({ status: 'fail', summary: expect.stringMatching(/0777/) });
      const table = await env.ns.exec(BIN_IN_NS, ['doctor'], { env: AWS_ENV, timeoutMs: 60_000 });
      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(new RegExp(`^FAIL  host-keys +host key ${HOST_KEY} has mode 0777.*\\n +fix: chown root:root ${HOST_KEY} && chmod 0600`, 'm'));
    } finally {
      await env.ns.must('chmod', ['0600', HOST_KEY]);
    }
    expect((await doctor()).checks['host-keys']!.status).toBe('ok');
  });

  test('the binary under a world-writable directory fails binary-path', async () => {
    await env.ns.must('install', ['-d', '-m', '0777', '/usr/local/sbin/x']);
    await env.ns.must('install', ['-m', '0755', BIN_IN_NS, '/usr/local/sbin/x/iam-ssh']);
    await sshdPointsAt('/usr/local/sbin/x/iam-ssh');
    try {
      const r = await doctor();
      expect(r.code).toBe(1);
      expect(r.checks['binary-path']).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^\/usr\/local\/sbin\/x has mode 0777 \(writable by everyone\)/), fix: expect.stringContaining('chmod 0755 /usr/local/sbin/x') });
      // Owned by an ordinary user instead: still unsafe to sshd.
      await env.ns.must('chmod', ['0755', '/usr/local/sbin/x']);
      await env.ns.must('chown', ['nobody', '/usr/local/sbin/x']);
      const owned = await doctor();
      expect(owned.checks['binary-path']!.summary).toMatch(/^\/usr\/local\/sbin\/x is owned by uid \d+, not root/);
    } finally {
      await sshdPointsAt(BIN_IN_NS);
    }
    expect((await doctor()).checks['binary-path']!.status).toBe('ok');
  });

  test('an instance role without iam:GetGroup is named with the policy to apply', async () => {
    env.proxy.rules = [{ action: 'GetGroup', fault: 'denied' }];
    try {
      const r = await doctor();
      expect(r.code).toBe(1);
      expect(r.checks.iam).toMatchObject({ status: 'fail', summary: expect.stringMatching(/lacks iam:GetGroup on arn:aws:iam::\d+:group\/ssh-users$/), fix: expect.stringContaining('docs/iam-policy.json') });
    } finally {
      env.proxy.rules = [];
    }
  });

  test('a clock 10 minutes off the Date of AWS answers fails clock', async () => {
    env.proxy.dateHeader = new Date(Date.now() - 10 * 60_000).toUTCString();
    try {
      const r = await doctor();
      expect(r.code).toBe(1);
      expect(r.checks.clock).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^the clock is 6\d\d s ahead of AWS: AWS rejects/), fix: expect.stringMatching(/time sync/) });
    } finally {
      env.proxy.dateHeader = null;
    }
  });

  test('a failed last sync fails last-sync', async () => {
    env.proxy.rules = [{ action: 'GetGroup', fault: 'throttle' }];
    try {
      expect((await env.sync()).code).toBe(1);
    } finally {
      env.proxy.rules = [];
    }
    const r = await doctor();
    expect(r.code).toBe(1);
    expect(r.checks['last-sync']).toMatchObject({ status: 'fail', summary: expect.stringMatching(/failed with exit 1: IAM could not be read completely/) });
    expect((await env.sync()).code).toBe(0);
  });

  test('an unreachable AWS endpoint is reported as unreachable and IAM is skipped', async () => {
    const closed = await freePort();
    await env.config({ ...settings, AWS_ENDPOINT_URL: `http://127.0.0.1:${closed}` });
    try {
      const r = await doctor();
      expect(r.code).toBe(1);
      expect(r.checks['aws-credentials']).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^STS is unreachable: .*ECONNREFUSED/), fix: expect.stringContaining(`127.0.0.1:${closed}`) });
      expect(r.checks.iam!.status).toBe('skip');
      expect(r.checks.clock!.status).toBe('skip');
    } finally {
      await env.config(settings);
    }
  });

  test('a config that does not load exits 2 and still checks the host', async () => {
    await env.ns.writeFile('/etc/iam-ssh-bad.conf', 'UID_MIN="$(reboot)"\n');
    const r = await doctor('--config', '/etc/iam-ssh-bad.conf');
    expect(r.code).toBe(2);
    expect(r.checks['config-file']).toMatchObject({ status: 'fail', summary: expect.stringContaining('/etc/iam-ssh-bad.conf:1') });
    expect(r.checks['host-keys']!.status).toBe('ok');
    expect(r.checks.iam!.status).toBe('skip');
  });

  test('no config file at all: built-in defaults apply, a warning that names the files looked for, never a failure', async () => {
    await env.ns.must('mv', ['/etc/iam-ssh.conf', '/etc/iam-ssh.conf.aside']);
    try {
      // Without the file AWS_ENDPOINT_URL is gone too: only the config check is judged here.
      const r = await doctor();
      expect(r.checks['config-file']).toMatchObject({
        status: 'warn',
        summary: expect.stringMatching(/^no \/etc\/iam-ssh\.conf or \/etc\/aws-ec2-ssh\.conf: built-in defaults apply/),
        fix: expect.stringContaining('IAM_AUTHORIZED_GROUPS'),
      });
      expect(r.code).not.toBe(2);
    } finally {
      await env.ns.must('mv', ['/etc/iam-ssh.conf.aside', '/etc/iam-ssh.conf']);
    }
  });

  test('a sync that refused removals fails last-sync with the commands that settle it', async () => {
    // Alice leaves the only authorized group: removing every managed user is the empty-result guard's refusal.
    const iam = env.moto.iam();
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'Alice' }));
    try {
      expect((await env.sync()).code).toBe(3);
      const r = await doctor();
      expect(r.code).toBe(1);
      expect(r.checks['last-sync']).toMatchObject({
        status: 'fail', summary: expect.stringMatching(/refused to remove accounts .*users who left IAM keep their accounts/), fix: expect.stringMatching(/^iam-ssh sync --dry-run .*iam-ssh sync --force/),
      });
    } finally {
      await iam.send(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'Alice' }));
      iam.destroy();
    }
    expect((await env.sync()).code).toBe(0);
    expect((await doctor()).checks['last-sync']!.status).toBe('ok');
  });

  test('not root: says so and skips what needs root', async () => {
    const r = await env.ns.exec('runuser', ['-u', 'nobody', '--', BIN_IN_NS, 'doctor', '--json'], { env: AWS_ENV, timeoutMs: 60_000 });
    const checks = Object.fromEntries((JSON.parse(r.stdout) as { checks: CheckResult[] }).checks.map((c) => [c.id, c]));
    expect(checks.root).toMatchObject({ status: 'warn', summary: expect.stringMatching(/not running as root/) });
    expect(checks['sshd-config']!.status).toBe('skip');
    expect(checks['host-keys']!.status).toBe('skip');
    expect(checks['command-user']!.status).toBe('ok');
  });

  test('cron ignores a group-writable schedule file, and doctor says so', async () => {
    await env.ns.must('chmod', ['0664', CRON]);
    const r = await doctor();
    expect(r.checks['sync-schedule']).toMatchObject({ status: 'fail', summary: expect.stringMatching(/cron ignores/) });
    await env.ns.must('chmod', ['0644', CRON]);
  });
});
