/** The scan of what aws-ec2-ssh left, moving its cron file aside, and waiting for a run in progress: on files in a scratch directory. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstallHost } from '../../../src/install/host';
import { moveScheduleAside, runningImports, scanLegacy, waitForImports, type LegacyPlaces } from '../../../src/install/legacy';

// host.ts runs programs through platform/exec; these tests hand it a fake instead.
jest.mock('../../../src/platform/exec', () => ({ mustExec: () => Promise.reject(new Error('not in unit tests')) }));

const CRON = 'SHELL=/bin/bash\nMAILTO=root\n*/10 * * * * root /opt/import_users.sh\n';

let dir: string;
let places: LegacyPlaces & { cronFile: string; cronDir: string };

function put(path: string, text: string, mode = 0o644): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, mode);
}

function host(dryRun = false): { host: InstallHost; lines: string[] } {
  const lines: string[] = [];
  return { host: new InstallHost(dryRun, (l) => lines.push(l), async () => ({ exitCode: 0, stdout: '', stderr: '' })), lines };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iam-ssh-legacy-'));
  mkdirSync(join(dir, 'cron.d'));
  places = {
    stateDir: join(dir, 'state'),
    sshdConfig: join(dir, 'sshd_config'),
    cronDir: join(dir, 'cron.d'),
    cronFile: join(dir, 'cron.d', 'import_users'),
    otherCrontabs: [join(dir, 'crontab')],
    scripts: [join(dir, 'opt', 'import_users.sh'), join(dir, 'opt', 'authorized_keys_command.sh')],
    configFile: join(dir, 'aws-ec2-ssh.conf'),
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('scanLegacy', () => {
  test('a host without aws-ec2-ssh: nothing found', () => {
    expect(scanLegacy(places)).toEqual({
      schedules: [], keptDir: join(places.stateDir, 'aws-ec2-ssh'), kept: [], scripts: [], config: null,
      sshd: { path: places.sshdConfig, lines: [], marked: 0 }, unreadable: [],
    });
  });

  test('every piece its install.sh leaves', () => {
    put(places.cronFile, CRON);
    put(places.scripts![0]!, '#!/bin/bash\n', 0o755);
    put(places.configFile!, 'DONOTSYNC=0\n');
    put(places.sshdConfig, 'Include /etc/ssh/sshd_config.d/*.conf\nAuthorizedKeysCommand /opt/authorized_keys_command.sh\nAuthorizedKeysCommandUser nobody\n');
    const s = scanLegacy(places);
    expect(s.schedules).toEqual([{ path: places.cronFile, movable: true, lines: [{ line: 3, text: '*/10 * * * * root /opt/import_users.sh' }] }]);
    expect(s.scripts).toEqual([places.scripts![0]]);
    expect(s.config).toBe(places.configFile);
    expect(s.sshd.lines.map((l) => l.line)).toEqual([2, 3]);
  });

  test('a schedule in another crontab or another cron.d file is found, not movable; files cron skips are skipped', () => {
    put(join(places.cronDir, 'ops'), '0 * * * * root /usr/bin/import_users.sh\n');
    put(join(places.cronDir, 'import_users.rpmsave'), CRON);
    put(join(places.cronDir, '.placeholder'), CRON);
    put(join(dir, 'crontab'), '# m h dom mon dow user command\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n*/10 * * * * root /opt/import_users.sh\n');
    const s = scanLegacy(places);
    expect(s.schedules.map((x) => [x.path, x.movable, x.lines.map((l) => l.line)])).toEqual([[join(places.cronDir, 'ops'), false, [1]], [join(dir, 'crontab'), false, [3]]]);
  });

  test('its cron file as a symlink is not moved (cron may follow it; its target is not ours)', () => {
    put(join(dir, 'elsewhere'), CRON);
    symlinkSync(join(dir, 'elsewhere'), places.cronFile);
    expect(scanLegacy(places).schedules).toMatchObject([{ path: places.cronFile, movable: false }]);
  });

  test('a place that cannot be read is named, not taken as empty', () => {
    put(join(dir, 'not-a-dir'), '');
    const s = scanLegacy({ ...places, cronDir: join(dir, 'not-a-dir') });
    expect(s.unreadable).toEqual([`${join(dir, 'not-a-dir')} (ENOTDIR)`]);
  });
});

describe('moveScheduleAside', () => {
  test('moves the file into STATE_DIR with its bytes and mode; an identical copy is reused, a different one numbered', () => {
    put(places.cronFile, CRON);
    const { host: h } = host();
    const kept = join(places.stateDir, 'aws-ec2-ssh', 'import_users');
    expect(moveScheduleAside(h, scanLegacy(places))).toEqual([{ from: places.cronFile, to: kept }]);
    expect(() => statSync(places.cronFile)).toThrow();
    expect(readFileSync(kept, 'utf8')).toBe(CRON);
    expect(statSync(kept).mode & 0o7777).toBe(0o644);
    expect(statSync(join(places.stateDir, 'aws-ec2-ssh')).mode & 0o7777).toBe(0o700);

    put(places.cronFile, CRON);
    expect(moveScheduleAside(host().host, scanLegacy(places))).toEqual([{ from: places.cronFile, to: kept }]);
    put(places.cronFile, CRON.replace('*/10', '*/5'));
    expect(moveScheduleAside(host().host, scanLegacy(places))).toEqual([{ from: places.cronFile, to: `${kept}.2` }]);
    expect(readFileSync(kept, 'utf8')).toBe(CRON);
    expect(readFileSync(`${kept}.2`, 'utf8')).toContain('*/5');
    expect(scanLegacy(places)).toMatchObject({ schedules: [], kept: [kept, `${kept}.2`] });
  });

  test('--dry-run reports the move and changes nothing', () => {
    put(places.cronFile, CRON);
    const { host: h, lines } = host(true);
    moveScheduleAside(h, scanLegacy(places));
    expect(lines).toContain(`would move ${places.cronFile} to ${join(places.stateDir, 'aws-ec2-ssh', 'import_users')}`);
    expect(readFileSync(places.cronFile, 'utf8')).toBe(CRON);
    expect(() => statSync(places.stateDir)).toThrow();
  });

  test('never moves a schedule that is not its own file', () => {
    put(join(dir, 'crontab'), '*/10 * * * * root /opt/import_users.sh\n');
    expect(() => moveScheduleAside(host().host, scanLegacy(places))).toThrow(/not aws-ec2-ssh's own cron file/);
  });
});

describe('runningImports and waitForImports', () => {
  let proc: string;
  const processOf = (pid: number, argv: string[]) => put(join(proc, String(pid), 'cmdline'), argv.join('\0') + '\0');
  beforeEach(() => {
    proc = join(dir, 'proc');
    processOf(100, ['/bin/bash', '/opt/import_users.sh']);
    processOf(101, ['/usr/bin/import_users.sh']);
    processOf(102, ['vim', '/opt/import_users.sh']);
    processOf(103, ['/usr/local/bin/iam-ssh', 'sync']);
    mkdirSync(join(proc, '104'));
    put(join(proc, 'self', 'cmdline'), '/opt/import_users.sh\0');
  });

  test('the script run by itself or by a shell; not a program that merely names it', () => {
    expect(runningImports(proc)).toEqual([100, 101]);
    expect(runningImports(join(dir, 'no-proc'))).toEqual([]);
  });

  test('waits until the run has finished', async () => {
    const lines: string[] = [];
    let polls = 0;
    const sleep = async () => {
      polls++;
      rmSync(join(proc, polls === 1 ? '100' : '101'), { recursive: true });
    };
    await waitForImports(host().host, (l) => lines.push(l), { procDir: proc, sleep, now: () => 0 });
    expect(polls).toBe(2);
    expect(lines).toEqual(["  waiting for aws-ec2-ssh's import_users.sh (pid 100, 101) to finish before iam-ssh's first sync"]);
  });

  test('stops install when the run outlasts the timeout', async () => {
    let t = 0;
    const wait = waitForImports(host().host, () => undefined, { procDir: proc, timeoutMs: 3000, sleep: async () => undefined, now: () => (t += 1000) });
    await expect(wait).rejects.toThrow(/import_users.sh \(pid 100, 101\) still runs after 3 s: iam-ssh's first sync did not start/);
  });

  test('--dry-run says it would wait, and does not', async () => {
    const lines: string[] = [];
    await waitForImports(host(true).host, (l) => lines.push(l), { procDir: proc, sleep: () => Promise.reject(new Error('slept')) });
    expect(lines[0]).toMatch(/would wait for aws-ec2-ssh's import_users.sh \(pid 100, 101\)/);
  });
});
