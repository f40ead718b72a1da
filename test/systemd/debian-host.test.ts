/**
 * iam-ssh on a systemd host, booted for real (Debian's root as it is): install enables the
 * units and runs the first sync as a systemd job; the timer has its fixed per-host offset and
 * fires; the boot unit runs before sshd and cannot hold it up when IAM does not answer; a real
 * ssh login through the systemd-managed sshd is logged to journald; a MAX_REMOVALS refusal
 * fails the unit and doctor names it; doctor catches a disabled timer and a unit that passes
 * -o AuthorizedKeysCommand; uninstall leaves the unit files as they were.
 * One container serves the whole file; the tests run in order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddUserToGroupCommand, CreateUserCommand, RemoveUserFromGroupCommand, UploadSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { containerSuite } from '../helpers/container';
import { SystemdHost } from '../helpers/systemd-host';
import { makeClientKey, sshLogin, type ClientKey } from '../helpers/sshd';

const BIN = '/usr/local/bin/iam-ssh';
const SYNC = 'iam-ssh-sync.service';
const TIMER = 'iam-ssh-sync.timer';
const BOOT = 'iam-ssh-boot.service';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UNITS_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, min: 60_000, s: 1000, ms: 1, us: 0.001 };
/** A timespan as systemctl show prints it ("3h 1min 13.719150s"), in ms. */
const timespanMs = (text: string) => [...text.matchAll(/([\d.]+)(d|h|min|s|ms|us)\b/g)].reduce((sum, m) => sum + Number(m[1]) * UNITS_MS[m[2]!]!, 0);

containerSuite('iam-ssh under a real systemd (Debian)', () => {
  let h: SystemdHost;
  let keyDir: string;
  let alice: ClientKey;
  let bob: ClientKey;
  let aliceKeyId: string;
  let unitFilesBefore: string;

  const doctor = async () => {
    const r = await h.c.exec(BIN, ['doctor', '--json'], { timeoutMs: 60_000 });
    const checks = (JSON.parse(r.stdout) as { checks: { id: string; status: string; summary: string; fix?: string }[] }).checks;
    return { code: r.code, checks, failed: checks.filter((c) => c.status === 'fail') };
  };
  const addIamUser = async (name: string, key: ClientKey) => {
    const iam = h.moto.iam();
    await iam.send(new CreateUserCommand({ UserName: name }));
    await iam.send(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: name }));
    await iam.send(new UploadSSHPublicKeyCommand({ UserName: name, SSHPublicKeyBody: key.publicLine }));
    iam.destroy();
  };
  const startSync = () => h.c.exec('systemctl', ['start', SYNC], { timeoutMs: 120_000 });

  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-systemd-'));
    alice = await makeClientKey(keyDir, 'alice');
    bob = await makeClientKey(keyDir, 'bob');
    h = await SystemdHost.start();
    const ids = await h.moto.seed({
      groups: ['ssh-users', 'ssh-admins'],
      users: [{ name: 'Alice.Smith', groups: ['ssh-users', 'ssh-admins'], keys: [{ body: alice.publicLine }] }],
    });
    aliceKeyId = ids['Alice.Smith']![0]!;
    unitFilesBefore = (await h.c.must('systemctl', ['list-unit-files', '--no-legend', '--no-pager'])).stdout;
  }, 600_000);

  afterAll(async () => {
    await h?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('install enables the timer and the boot unit; the first sync runs as a systemd job', async () => {
    const r = await h.install('--authorized-groups', 'ssh-users', '--sudo-groups', 'ssh-admins');
    expect(r.code).toBe(0);
    for (const unit of [TIMER, BOOT]) expect((await h.c.exec('systemctl', ['is-enabled', unit])).stdout.trim()).toBe('enabled');
    expect((await h.c.exec('systemctl', ['is-active', TIMER])).stdout.trim()).toBe('active');
    // The first sync ran as the unit, under its confinement, and logged to the journal.
    expect(r.stdout).toContain(`run the first sync as ${SYNC}`);
    expect(await h.show(SYNC, 'Result', 'ExecMainStatus')).toEqual({ Result: 'success', ExecMainStatus: '0' });
    const entries = (await h.journal('iam-ssh', '-u', SYNC)).filter((e) => e._SYSTEMD_UNIT === SYNC);
    const done = entries.map((e) => JSON.parse(e.MESSAGE!) as Record<string, unknown>).filter((m) => m.event === 'sync.done');
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ complete: true, users: 1 });
    expect(await h.passwd('alice.smith')).not.toBeNull();
  });

  test('list-timers shows the sync timer at its fixed per-host offset', async () => {
    const timers = (await h.c.must('systemctl', ['list-timers', '--all', '--no-legend', '--no-pager'])).stdout;
    expect(timers).toMatch(new RegExp(`${TIMER}\\s+${SYNC}`));
    expect(await h.show(TIMER, 'RandomizedDelayUSec', 'FixedRandomDelay')).toEqual({ RandomizedDelayUSec: '10min', FixedRandomDelay: 'yes' });
    // The offset: how far the next run lies past each trigger (the 10-minute calendar slot, 2 min after boot).
    const offsets = async () => {
      const p = await h.show(TIMER, 'TimersCalendar', 'TimersMonotonic', 'NextElapseUSecRealtime', 'NextElapseUSecMonotonic');
      const calendar = Date.parse(/next_elapse=(.+?) }/.exec(p.TimersCalendar!)![1]!.replace(' UTC', 'Z').replace(/^\w+ /, '').replace(' ', 'T'));
      const realtime = Date.parse(p.NextElapseUSecRealtime!.replace(' UTC', 'Z').replace(/^\w+ /, '').replace(' ', 'T'));
      const monotonic = timespanMs(p.NextElapseUSecMonotonic!) - timespanMs(/next_elapse=(.+?) }/.exec(p.TimersMonotonic!)![1]!);
      return { realtime: (realtime - calendar) / 1000, monotonic: Math.floor(monotonic / 1000) };
    };
    const first = await offsets();
    expect(first.realtime).toBeGreaterThanOrEqual(0);
    expect(first.realtime).toBeLessThan(600);
    expect(first.monotonic).toBe(Math.floor(first.realtime));
    // A random delay would be drawn anew on restart; this one is fixed per machine and unit.
    await h.c.must('systemctl', ['restart', TIMER]);
    expect(await offsets()).toEqual(first);
  });

  test('the boot unit is ordered before sshd, only ordered, with short timeouts', async () => {
    expect((await h.show(BOOT, 'Before')).Before!.split(' ')).toContain('ssh.service');
    expect((await h.show('ssh.service', 'After')).After!.split(' ')).toContain(BOOT);
    expect((await h.show('ssh.service', 'Requires')).Requires ?? '').not.toContain(BOOT);
    expect(await h.show(BOOT, 'JobTimeoutUSec', 'TimeoutStartUSec')).toEqual({ JobTimeoutUSec: '30s', TimeoutStartUSec: '20s' });
  });

  test('a real ssh login through the systemd-managed sshd is logged to journald with the IAM user, key id and fingerprint', async () => {
    await h.giveCommandUserCredentials();
    const r = await sshLogin(h.c.sshPort, 'alice.smith', alice, ['id -un; sudo -n true && echo sudo']);
    expect(r.stdout).toBe('alice.smith\nsudo\n');
    const served = (await h.journal()).map((e) => JSON.parse(e.MESSAGE!) as Record<string, unknown>).filter((m) => m.event === 'keys.served');
    expect(served.length).toBeGreaterThan(0);
    const fingerprint = (await h.c.must('ssh-keygen', ['-lf', '-'], { input: alice.publicLine })).stdout.split(' ')[1];
    expect(served.at(-1)).toMatchObject({ user: 'alice.smith', iamUser: 'Alice.Smith', keys: [{ id: aliceKeyId, fingerprint }] });
  });

  test('doctor passes on the healthy host', async () => {
    const d = await doctor();
    expect(d.failed).toEqual([]);
    expect(d.code).toBe(0);
  });

  test('the timer fires and a new member of the IAM group gets an account, nobody running sync', async () => {
    await addIamUser('Bob.Jones', bob);
    await h.c.must('mkdir', ['-p', `/etc/systemd/system/${TIMER}.d`]);
    await h.c.writeFile(`/etc/systemd/system/${TIMER}.d/test-interval.conf`, '[Timer]\nOnCalendar=\nOnBootSec=\nRandomizedDelaySec=0\nOnActiveSec=1s\n');
    await h.c.must('systemctl', ['daemon-reload']);
    await h.c.must('systemctl', ['restart', TIMER]);
    for (let i = 0; i < 100 && (await h.passwd('bob.jones')) === null; i++) await sleep(300);
    expect(await h.passwd('bob.jones')).not.toBeNull();
    expect((await h.show(TIMER, 'LastTriggerUSec')).LastTriggerUSec).not.toMatch(/^(n\/a|0)?$/);
    expect((await sshLogin(h.c.sshPort, 'bob.jones', bob, ['id -un'])).stdout).toBe('bob.jones\n');
    await h.c.must('rm', ['-r', `/etc/systemd/system/${TIMER}.d`]);
    await h.c.must('systemctl', ['daemon-reload']);
    await h.c.must('systemctl', ['restart', TIMER]);
  });

  test('doctor fails with the fix when the timer is disabled', async () => {
    await h.c.must('systemctl', ['disable', '--now', TIMER]);
    const d = await doctor();
    expect(d.code).not.toBe(0);
    expect(d.failed.map((c) => `${c.summary} ${c.fix}`).join('\n')).toMatch(/systemctl enable --now iam-ssh-sync\.timer/);
    await h.c.must('systemctl', ['enable', '--now', TIMER]);
    expect((await doctor()).failed).toEqual([]);
  });

  test("doctor fails when sshd's unit passes -o AuthorizedKeysCommand, and names install as the fix", async () => {
    const dropIn = '/etc/systemd/system/ssh.service.d/vendor.conf';
    await h.c.must('mkdir', ['-p', '/etc/systemd/system/ssh.service.d']);
    await h.c.writeFile(dropIn, '[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D $SSHD_OPTS -o AuthorizedKeysCommand=/usr/bin/true -o AuthorizedKeysCommandUser=nobody\n');
    await h.c.must('systemctl', ['daemon-reload']);
    const d = await doctor();
    expect(d.code).not.toBe(0);
    const keys = d.failed.find((c) => c.id === 'keys-command');
    expect(keys?.summary).toMatch(/-o/);
    expect(keys?.fix).toMatch(/install/);
    await h.c.must('rm', ['-r', '/etc/systemd/system/ssh.service.d']);
    await h.c.must('systemctl', ['daemon-reload']);
    expect((await doctor()).failed).toEqual([]);
  });

  test('a MAX_REMOVALS refusal fails the unit (systemctl --failed) and doctor names it', async () => {
    await h.c.must('sh', ['-c', 'echo MAX_REMOVALS=1 >> /etc/iam-ssh.conf']);
    const iam = h.moto.iam();
    for (const u of ['Alice.Smith', 'Bob.Jones']) await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: u }));
    iam.destroy();
    expect((await startSync()).code).not.toBe(0);
    expect(await h.show(SYNC, 'Result', 'ExecMainStatus')).toEqual({ Result: 'exit-code', ExecMainStatus: '3' });
    expect((await h.c.must('systemctl', ['--failed', '--no-legend', '--plain'])).stdout).toContain(SYNC);
    expect(await h.passwd('alice.smith')).not.toBeNull();
    const d = await doctor();
    expect(d.code).not.toBe(0);
    expect(d.failed.map((c) => c.summary).join('\n')).toMatch(/refused to remove accounts \(MAX_REMOVALS/);
    // Back in: the next run succeeds and the unit is no longer failed.
    const back = h.moto.iam();
    for (const u of ['Alice.Smith', 'Bob.Jones']) await back.send(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: u }));
    back.destroy();
    expect((await startSync()).code).toBe(0);
    expect((await h.c.exec('systemctl', ['is-failed', SYNC])).stdout.trim()).not.toBe('failed');
  });

  test('the boot unit cannot hold sshd up for longer than its timeout when IAM does not answer', async () => {
    // IAM accepts the connection and never answers: the worst outage for a client.
    h.proxy.rules = ['GetGroup', 'ListUsers', 'ListSSHPublicKeys', 'GetSSHPublicKey'].map((action) => ({ action, fault: 'hang' as const }));
    try {
      await h.c.must('systemctl', ['stop', 'ssh.service']);
      const calls = h.proxy.total();
      const t0 = performance.now();
      // Both jobs queued at once, as at boot: sshd waits for the boot unit (After=), no longer.
      await h.c.exec('systemctl', ['start', BOOT, 'ssh.service'], { timeoutMs: 90_000 });
      for (let i = 0; i < 200 && (await h.c.exec('systemctl', ['is-active', 'ssh.service'])).stdout.trim() !== 'active'; i++) await sleep(200);
      const seconds = (performance.now() - t0) / 1000;
      expect((await h.c.exec('systemctl', ['is-active', 'ssh.service'])).stdout.trim()).toBe('active');
      expect(h.proxy.total()).toBeGreaterThan(calls);
      // TimeoutStartSec=20s stops the run; JobTimeoutSec=30s bounds the wait whatever happens.
      expect(seconds).toBeLessThan(35);
      expect((await h.show(BOOT, 'Result')).Result).toMatch(/^(timeout|exit-code)$/);
      // sshd serves the accounts that exist, from the keys cache while IAM hangs.
      expect((await sshLogin(h.c.sshPort, 'alice.smith', alice, ['id -un'])).stdout).toBe('alice.smith\n');
    } finally {
      h.proxy.rules = [];
      await h.c.exec('systemctl', ['reset-failed']);
    }
  }, 120_000);

  test('doctor fails when the journal filesystem is nearly full, and passes once there is room', async () => {
    const check = async () => (await doctor()).checks.find((c) => c.id === 'log-space')!;
    expect((await check()).status).toBe('ok');
    await h.c.must('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=2755', 'iam-ssh-test-journal', '/var/log/journal']);
    try {
      // A flood of auth lines, filled to the brim (dd stops at ENOSPC).
      await h.c.exec('dd', ['if=/dev/zero', 'of=/var/log/journal/flood', 'bs=64k']);
      const full = await check();
      expect(full).toMatchObject({ status: 'fail', summary: expect.stringMatching(/^\/var\/log\/journal \(0\.0 MiB free of 8\.0 MiB\).*nearly full/) });
      expect(full.fix).toMatch(/journalctl --vacuum-size/);
    } finally {
      await h.c.must('umount', ['--lazy', '/var/log/journal']);
    }
    expect((await check()).status).toBe('ok');
  });

  test("doctor fails when a journald drop-in removes the size cap; doctor's own fix puts one back", async () => {
    const check = async () => (await doctor()).checks.find((c) => c.id === 'journald-cap')!;
    expect((await check()).status).toBe('ok');
    await h.c.must('mkdir', ['-p', '/etc/systemd/journald.conf.d']);
    await h.c.writeFile('/etc/systemd/journald.conf.d/90-no-cap.conf', '[Journal]\nSystemMaxUse=100T\nSystemKeepFree=0\n');
    await h.c.must('systemctl', ['restart', 'systemd-journald']);
    const uncapped = await check();
    expect(uncapped).toMatchObject({ status: 'fail', summary: expect.stringMatching(/no size cap on \/var\/log\/journal \(SystemMaxUse=100T, SystemKeepFree=0\)/) });
    // As an operator would paste it.
    await h.c.must('sh', ['-c', uncapped.fix!]);
    expect((await check()).status).toBe('ok');
    expect((await h.c.must('systemctl', ['is-active', 'systemd-journald'])).stdout.trim()).toBe('active');
    await h.c.must('rm', ['-r', '/etc/systemd/journald.conf.d']);
    await h.c.must('systemctl', ['restart', 'systemd-journald']);
  });

  test('uninstall stops and removes every unit; list-unit-files is as before install', async () => {
    const r = await h.c.exec(BIN, ['uninstall'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect((await h.c.must('systemctl', ['list-unit-files', '--no-legend', '--no-pager'])).stdout).toBe(unitFilesBefore);
    expect((await h.c.must('systemctl', ['list-units', '--all', '--no-legend', '--plain', 'iam-ssh*'])).stdout).toBe('');
  });
});
