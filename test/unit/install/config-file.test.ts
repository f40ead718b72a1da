import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySettings, quoteValue, CONFIG_HEADER } from '../../../src/install/config-file';
import { parseConfigText } from '../../../src/config/parse';
import { osIds, defaultBinaryPath } from '../../../src/platform/os';
import { cronText, unitFiles, checkBinaryPath } from '../../../src/install/scheduler';

describe('applySettings (the config file install writes)', () => {
  test('a new file gets the header and the keys in order', () => {
    const t = applySettings('', [['IAM_AUTHORIZED_GROUPS', 'ssh-users,admins'], ['SUDOERS_GROUPS', '##ALL##']]);
    expect(t).toBe([...CONFIG_HEADER, '', 'IAM_AUTHORIZED_GROUPS="ssh-users,admins"', "SUDOERS_GROUPS='##ALL##'", ''].join('\n'));
    expect(parseConfigText(t, 'f').map((e) => [e.key, e.value])).toEqual([['IAM_AUTHORIZED_GROUPS', 'ssh-users,admins'], ['SUDOERS_GROUPS', '##ALL##']]);
  });
  test('an existing key changes on its own (last) line; comments and other keys stay; applying twice is a no-op', () => {
    const before = '# mine\nIAM_AUTHORIZED_GROUPS="old"\nLOCAL_GROUPS="docker" # keep\nIAM_AUTHORIZED_GROUPS="older"\n';
    const once = applySettings(before, [['IAM_AUTHORIZED_GROUPS', 'new'], ['AWS_REGION', 'eu-west-1']]);
    expect(once).toBe('# mine\nIAM_AUTHORIZED_GROUPS="old"\nLOCAL_GROUPS="docker" # keep\nIAM_AUTHORIZED_GROUPS="new"\nAWS_REGION="eu-west-1"\n');
    expect(applySettings(once, [['IAM_AUTHORIZED_GROUPS', 'new'], ['AWS_REGION', 'eu-west-1']])).toBe(once);
  });
  test('values that need quoting round-trip; a quote or line break is refused', () => {
    for (const v of ['a b', '$(reboot)', '`id`', 'x;y', '']) {
      const t = applySettings('', [['SUDO_RULE', v]]);
      expect(parseConfigText(t, 'f').at(-1)!.value).toBe(v);
    }
    expect(() => quoteValue('K', "it's")).toThrow(/quote or a line break/);
    expect(() => quoteValue('K', 'a\nEVIL=1')).toThrow(/quote or a line break/);
  });
  test('a file that does not parse is not rewritten', () => {
    expect(() => applySettings('garbage line\n', [['AWS_REGION', 'us-east-1']])).toThrow(/expected KEY=value/);
  });
});

describe('where the binary goes', () => {
  test('os-release IDs', () => {
    expect(osIds('NAME="Flatcar"\nID=flatcar\nID_LIKE=coreos\n')).toEqual(['flatcar', 'coreos']);
    expect(osIds('ID="amzn"\nID_LIKE="centos rhel fedora"\n')).toEqual(['amzn', 'centos', 'rhel', 'fedora']);
  });
  test('/opt/bin on Flatcar/CoreOS or a read-only /usr, else /usr/local/bin', () => {
    expect(defaultBinaryPath(['flatcar'], false)).toBe('/opt/bin/iam-ssh');
    expect(defaultBinaryPath(['debian'], true)).toBe('/opt/bin/iam-ssh');
    expect(defaultBinaryPath(['ubuntu', 'debian'], false)).toBe('/usr/local/bin/iam-ssh');
  });
  test('a binary path that would be interpreted by cron or systemd is refused', () => {
    for (const bad of ['relative/iam-ssh', '/usr/local/bin/iam ssh', '/x/$(id)', '/x/../y', '/x;rm']) expect(() => checkBinaryPath(bad)).toThrow();
    expect(checkBinaryPath('/opt/bin/iam-ssh')).toBe('/opt/bin/iam-ssh');
  });
});

describe('schedule', () => {
  test('units point at the installed binary', () => {
    const u = unitFiles('/opt/bin/iam-ssh');
    expect(u['iam-ssh-sync.service']).toContain('ExecStart=/opt/bin/iam-ssh sync\n');
    expect(u['iam-ssh-boot.service']).toContain('ExecStart=/opt/bin/iam-ssh sync --wait 0\n');
    expect(u['iam-ssh-boot.service']).toMatch(/^Before=.*sshd\.service/m);
    expect(u['iam-ssh-sync.timer']).toMatch(/^Persistent=true$/m);
    expect(u['iam-ssh-sync.timer']).toMatch(/^OnCalendar=/m);
    expect(u['iam-ssh-sync.timer']).toMatch(/^RandomizedDelaySec=/m);
    expect(Object.values(u).join('')).not.toContain('/usr/local/bin/iam-ssh');
  });
  test('cron: a per-host minute offset that is stable for a host and spread over a fleet', () => {
    const minute = (h: string) => Number(/^(\d)-59\/10 /m.exec(cronText('/usr/local/bin/iam-ssh', h))![1]);
    expect(minute('host-a')).toBe(minute('host-a'));
    const seen = new Set(Array.from({ length: 200 }, (_, i) => minute(`ip-10-0-0-${i}`)));
    expect(seen.size).toBe(10);
    expect(cronText('/usr/local/bin/iam-ssh', 'h')).toMatch(/^@reboot root \/usr\/local\/bin\/iam-ssh sync /m);
  });
  const verify = existsSync('/usr/bin/systemd-analyze') ? test : test.skip;
  verify('systemd-analyze verify accepts the units', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iam-ssh-units-'));
    try {
      // ExecStart must name an existing executable for verify; /bin/true stands in for the binary.
      const files = Object.entries(unitFiles('/bin/true')).map(([name, text]) => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      });
      // Unknown or misspelt settings are only warnings on stderr: those fail the test too.
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8' });
      expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 0, stderr: '', stdout: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
