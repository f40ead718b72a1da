/** Facts of a healthy host, for doctor's check tables to change one thing at a time. */
import type { DoctorFacts, PathFact } from '../../src/doctor/facts';

export const NOW = Date.parse('2030-01-01T12:00:00Z');

export function file(path: string, mode: number, uid = 0): PathFact {
  return { path, missing: false, kind: 'file', uid, gid: 0, mode };
}

export function dir(path: string, mode: number, uid = 0): PathFact {
  return { path, missing: false, kind: 'dir', uid, gid: 0, mode };
}

export function healthyFacts(): DoctorFacts {
  return {
    now: NOW,
    isRoot: true,
    keysMode: 'command',
    keysFileDir: '/etc/ssh/iam-ssh/authorized_keys',
    selfPath: '/usr/local/bin/iam-ssh',
    config: { file: '/etc/iam-ssh.conf', error: null, stat: file('/etc/iam-ssh.conf', 0o644) },
    sshd: {
      ran: true, exitCode: 0, stderr: '', probeUser: 'iam-ssh-doctor-probe',
      settings: {
        authorizedkeyscommand: ['/usr/local/bin/iam-ssh keys %u %f'], authorizedkeyscommanduser: ['iam-ssh'],
        authorizedkeysfile: ['.ssh/authorized_keys'], hostkey: ['/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_rsa_key'],
      },
    },
    commandPath: {
      program: '/usr/local/bin/iam-ssh', resolved: '/usr/local/bin/iam-ssh', error: null,
      chain: [file('/usr/local/bin/iam-ssh', 0o755), dir('/usr/local/bin', 0o755), dir('/usr/local', 0o755), dir('/usr', 0o755), dir('/', 0o755)],
    },
    commandUser: { name: 'iam-ssh', entry: { name: 'iam-ssh', uid: 998, gids: [998] } },
    chain: null,
    hostKeys: [file('/etc/ssh/ssh_host_ed25519_key', 0o600), file('/etc/ssh/ssh_host_rsa_key', 0o600)],
    stateDir: dir('/var/lib/iam-ssh', 0o755),
    cacheDir: dir('/var/cache/iam-ssh', 0o700, 998),
    schedule: { kind: 'systemd', unit: 'iam-ssh-sync.timer', enabled: 'enabled', active: 'active' },
    legacy: { schedules: [], keptDir: '/var/lib/iam-ssh/aws-ec2-ssh', kept: [], scripts: [], config: null, sshd: { path: '/etc/ssh/sshd_config', lines: [], marked: 0 }, unreadable: [] },
    lastSync: { time: new Date(NOW - 5 * 60_000).toISOString(), exitCode: 0, complete: true, changes: 2, failures: 0, durationMs: 840 },
    syncIntervalMs: 10 * 60_000,
    logs: {
      space: [{ path: '/var/log/journal', sizeBytes: 20 * 1024 ** 3, availBytes: 12 * 1024 ** 3 }, { path: '/var/log', sizeBytes: 20 * 1024 ** 3, availBytes: 12 * 1024 ** 3 }],
      journald: { dir: '/var/log/journal', maxUse: null, keepFree: null },
    },
    aws: {
      endpoint: null,
      identity: { ok: true, arn: 'arn:aws:sts::123456789012:assumed-role/web/i-0abc', account: '123456789012' },
      serverDate: { header: new Date(NOW).toUTCString(), localMs: NOW + 800 },
      groups: [{ group: 'ssh-users', result: { ok: true, members: ['Alice'] } }],
      memberKeys: { user: 'Alice', list: { ok: true, keyIds: ['APKA1'] }, get: { ok: true } },
      ssm: null,
    },
  };
}

/** One row of a check table: title, change to the healthy facts, expected status, summary and fix patterns. */
export type CheckCase = [string, (f: DoctorFacts) => void, 'ok' | 'warn' | 'fail' | 'skip', RegExp?, RegExp?];

/** A describe block with one test per row, each run on fresh healthy facts. */
export function checkTable(name: string, run: (f: DoctorFacts) => { status: string; summary: string; fix?: string }, cases: CheckCase[]): void {
  describe(name, () => {
    // Rows differ in length; an object per row keeps jest from passing its done callback.
    test.each(cases.map(([title, change, status, summary, fix]) => ({ title, change, status, summary, fix })))('$title', ({ change, status, summary, fix }) => {
      const f = healthyFacts();
      change(f);
      const res = run(f);
      expect(res.status).toBe(status);
      if (summary) expect(res.summary).toMatch(summary);
      if (fix) expect(res.fix).toMatch(fix);
      if (status === 'fail') expect(res.fix ?? res.summary).toBeTruthy();
    });
  });
}
