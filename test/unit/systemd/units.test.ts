/**
 * The systemd units of systemd/: the boot unit is as hardened as the timer's unit, never holds
 * sshd back for long or at all on failure, and a refused sync (exit 3) fails the unit so that
 * `systemctl --failed` and unit monitoring see it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const UNIT_DIR = join(__dirname, '../../../systemd');
const SYNC = 'iam-ssh-sync.service';
const BOOT = 'iam-ssh-boot.service';

type Unit = Record<string, Record<string, string[]>>;

/** Section -> key -> values in order (a key may repeat); comments and blank lines dropped. */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      section = head[1]!;
      unit[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || section === '') throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq).trim();
    (unit[section]![key] ??= []).push(line.slice(eq + 1).trim());
  }
  return unit;
}

const text = (name: string) => readFileSync(join(UNIT_DIR, name), 'utf8');
const unit = (name: string) => parseUnit(text(name));
const words = (values: string[] | undefined) => (values ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);

/** systemd time spans as the units write them: `20s`, `10min`, `1min 30s`. */
function seconds(span: string): number {
  let total = 0;
  for (const m of span.matchAll(/(\d+)\s*(ms|s|sec|min|m|h)?/g)) {
    const n = Number(m[1]);
    total += ({ ms: n / 1000, s: n, sec: n, min: n * 60, m: n * 60, h: n * 3600 } as Record<string, number>)[m[2] ?? 's']!;
  }
  return total;
}

/** [Service] settings that say what the run is, not how it is confined. */
const NOT_HARDENING = new Set(['Type', 'ExecStart', 'TimeoutStartSec', 'Nice', 'SyslogIdentifier']);

describe('hardening', () => {
  test('the boot unit has every confinement setting of the sync unit, with the same value', () => {
    const sync = unit(SYNC).Service!;
    const boot = unit(BOOT).Service!;
    const confinement = (s: Record<string, string[]>) => Object.fromEntries(Object.entries(s).filter(([k]) => !NOT_HARDENING.has(k)));
    expect(confinement(boot)).toEqual(confinement(sync));
    expect(boot.ExecStart).toEqual([`${sync.ExecStart![0]} --wait 0`]);
  });

  const analyze = existsSync('/usr/bin/systemd-analyze') ? spawnSync('systemd-analyze', ['security', '--help'], { encoding: 'utf8' }) : null;
  const offline = analyze !== null && analyze.stdout.includes('--offline') ? test : test.skip;
  offline('systemd-analyze security --offline scores both units the same, and no worse than 5.0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iam-ssh-units-'));
    try {
      const score = (name: string): number => {
        writeFileSync(join(dir, name), text(name).replace(/\/usr\/local\/bin\/iam-ssh/g, '/bin/true'));
        const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', join(dir, name)], { encoding: 'utf8' });
        const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
        if (!m) throw new Error(`no score for ${name}: ${r.stdout}${r.stderr}`);
        return Number(m[1]);
      };
      const sync = score(SYNC);
      expect(score(BOOT)).toBe(sync);
      expect(sync).toBeLessThanOrEqual(5.0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the boot unit and sshd', () => {
  const boot = unit(BOOT);

  test('ordered before sshd, with no dependency that stops sshd when the sync fails', () => {
    expect(words(boot.Unit!.Before)).toEqual(expect.arrayContaining(['ssh.service', 'sshd.service']));
    for (const key of ['Requires', 'Requisite', 'BindsTo', 'PartOf', 'Upholds']) {
      expect(words(boot.Unit![key]).filter((u) => /^sshd?[.@]/.test(u))).toEqual([]);
    }
    for (const key of ['RequiredBy', 'UpheldBy']) expect(boot.Install?.[key]).toBeUndefined();
  });

  test('not ordered before a socket unit: sockets start before basic.target, which every service follows', () => {
    expect(words(boot.Unit!.Before).filter((u) => u.endsWith('.socket'))).toEqual([]);
  });

  test('sshd waits at most seconds: a short start timeout, and a job timeout that covers waiting for the network too', () => {
    expect(seconds(boot.Service!.TimeoutStartSec![0]!)).toBeLessThanOrEqual(30);
    expect(seconds(boot.Unit!.JobTimeoutSec?.[0] ?? 'infinity')).toBeLessThanOrEqual(60);
  });

  const verify = existsSync('/usr/bin/systemd-analyze') ? test : test.skip;
  verify('systemd-analyze finds no ordering cycle at boot, with sshd socket-activated or not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iam-ssh-units-'));
    try {
      writeFileSync(join(dir, BOOT), text(BOOT).replace(/\/usr\/local\/bin\/iam-ssh/g, '/bin/true'));
      // Stand-ins for Debian's and Ubuntu's sshd units: a service and a socket with default dependencies.
      writeFileSync(join(dir, 'ssh.service'), '[Unit]\nDescription=sshd stand-in\nAfter=network.target\n[Service]\nExecStart=/bin/true\n');
      writeFileSync(join(dir, 'ssh.socket'), '[Unit]\nDescription=sshd socket stand-in\nBefore=sockets.target ssh.service\n[Socket]\nListenStream=2222\nAccept=no\n');
      writeFileSync(join(dir, 'boot-test.target'), `[Unit]\nDescription=boot stand-in\nWants=basic.target ssh.socket ssh.service ${BOOT}\n`);
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'boot-test.target')], { encoding: 'utf8' });
      expect(r.stderr + r.stdout).not.toMatch(/ordering cycle|deleted to break/i);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a refused sync is a failed unit', () => {
  test.each([SYNC, BOOT])('%s counts only exit 0 as success', (name) => {
    // Exit 3 (removals refused by MAX_REMOVALS or the empty-result guard) must show in systemctl --failed.
    expect(unit(name).Service!.SuccessExitStatus).toBeUndefined();
  });

  test('the timer fires again whatever the last run did: no setting stops it on a failure', () => {
    const timer = unit('iam-ssh-sync.timer');
    expect(timer.Timer!.OnCalendar).toBeDefined();
    expect(timer.Unit?.Requires).toBeUndefined();
    expect(unit(SYNC).Unit?.StartLimitBurst).toBeUndefined();
    expect(unit(SYNC).Service!.Restart).toBeUndefined();
  });
});
