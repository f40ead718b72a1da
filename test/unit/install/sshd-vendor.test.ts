/**
 * The vendor's AuthorizedKeysCommand that install displaces: which one sshd would run without
 * iam-ssh's (unit -o options first, then the files), whether keys can chain it, what install
 * writes and says, and the unit drop-in that takes the vendor's -o options off ExecStart.
 */
import type { SshdLayout, SshdService } from '../../../src/platform/sshd';
import { parseSshdConfig, type Directive, type KeysSettings } from '../../../src/platform/sshd-config';
import { parseUnitFiles } from '../../../src/platform/sshd-unit';
import { asChain, chainSetting, firstVendorCommand, reportDisplaced, unitOverride } from '../../../src/install/sshd-vendor';

// execa is an ES module that jest does not load; nothing here runs a program.
jest.mock('../../../src/platform/exec', () => ({ exec: () => Promise.reject(new Error('not in unit tests')) }));

const KEYS: KeysSettings = { mode: 'command', binary: '/usr/local/bin/iam-ssh', commandUser: 'iam-ssh', keysFileDir: '/etc/ssh/iam-ssh/authorized_keys' };
/** A program keys would run: /bin/sh is root's on every test host. */
const SAFE = '/bin/sh';
const layoutOf = (files: Record<string, string>): SshdLayout => {
  const ordered: Directive[] = Object.entries(files).flatMap(([f, t]) => parseSshdConfig(f, t));
  return { main: '/etc/ssh/sshd_config', symlinkTarget: null, mainText: files['/etc/ssh/sshd_config'] ?? '', dropInDir: '/etc/ssh/sshd_config.d', ordered };
};
const serviceOf = (execStart: string): SshdService => {
  const exec = parseUnitFiles([{ path: '/lib/systemd/system/ssh.service.d/ec2-instance-connect.conf', text: `[Service]\nExecStart=\nExecStart=${execStart}\n` }]).execStart!;
  return { unit: 'ssh.service', files: [exec.file], execStart: exec, argv: { configFile: null, options: exec.words.filter((_, i, w) => w[i - 1]?.value === '-o').map((w) => w.value) } };
};

describe('asChain', () => {
  test('a command of %u and %f whose program keys would run', () => {
    expect(asChain(`${SAFE} %u %f`)).toEqual({ chain: { program: SAFE, args: ['%u', '%f'] }, why: null });
  });
  test.each([
    ['/usr/local/bin/iam-ssh keys %u %f', /iam-ssh or aws-ec2-ssh/],
    ['/opt/authorized_keys_command.sh %u', /iam-ssh or aws-ec2-ssh/],
    [`${SAFE} %u %k`, /%k is not a token/],
    [`${SAFE} "%u"`, /quotes its arguments/],
    ['eic %u', /not an absolute path/],
    ['/nonexistent/eic_run_authorized_keys %u %f', /cannot be resolved: ENOENT/],
    ['/tmp %u', /not a regular file|writable/],
  ])('%j is not chained', (command, why) => {
    expect(asChain(command)).toEqual({ chain: null, why: expect.stringMatching(why) });
  });
});

describe('firstVendorCommand', () => {
  test("the unit's -o comes before every file", () => {
    const v = firstVendorCommand(layoutOf({ '/etc/ssh/sshd_config': `AuthorizedKeysCommand ${SAFE} file %u\n` }), serviceOf(`/usr/sbin/sshd -D -o "AuthorizedKeysCommand ${SAFE} %%u %%f" $SSHD_OPTS`), KEYS);
    expect(v).toMatchObject({ where: 'ssh.service ExecStart (/lib/systemd/system/ssh.service.d/ec2-instance-connect.conf:3)', command: `${SAFE} %u %f`, chain: { program: SAFE, args: ['%u', '%f'] } });
  });
  test("ours, our drop-in, aws-ec2-ssh's, none and Match blocks are passed over", () => {
    const layout = layoutOf({
      '/etc/ssh/sshd_config': 'AuthorizedKeysCommand /usr/local/bin/iam-ssh keys %u %f\nAuthorizedKeysCommand /opt/authorized_keys_command.sh %u\nAuthorizedKeysCommand none\nMatch User bob\n  AuthorizedKeysCommand /bin/false\n',
      '/etc/ssh/sshd_config.d/00-iam-ssh.conf': 'AuthorizedKeysCommand /usr/local/bin/iam-ssh keys %u %f\n',
    });
    expect(firstVendorCommand(layout, null, KEYS)).toBeNull();
    const withEic = layoutOf({ '/etc/ssh/sshd_config': 'Include /etc/ssh/sshd_config.d/*.conf\n', '/etc/ssh/sshd_config.d/60-ec2-instance-connect.conf': `AuthorizedKeysCommand ${SAFE} %u %f\n` });
    expect(firstVendorCommand(withEic, null, KEYS)).toMatchObject({ where: '/etc/ssh/sshd_config.d/60-ec2-instance-connect.conf:1', command: `${SAFE} %u %f` });
  });
});

describe('chainSetting', () => {
  const vendor = { where: 'x:1', command: `${SAFE} %u %f`, chain: { program: SAFE, args: ['%u', '%f'] }, why: null };
  test('written in command mode when the file does not say', () => {
    const out: string[] = [];
    expect(chainSetting(vendor, 'command', 'IAM_AUTHORIZED_GROUPS=a\n', (l) => out.push(l))).toEqual(['KEYS_CHAIN_COMMAND', `${SAFE} %u %f`]);
    expect(out).toEqual([`chaining the AuthorizedKeysCommand of x:1 after iam-ssh's keys: KEYS_CHAIN_COMMAND=${SAFE} %u %f`]);
  });
  test("the file's value stands, an empty one included; file mode chains nothing; no vendor, nothing", () => {
    expect(chainSetting(vendor, 'command', "KEYS_CHAIN_COMMAND=''\n", () => {})).toBeNull();
    expect(chainSetting(vendor, 'command', "KEYS_CHAIN_COMMAND='/opt/mine %u'\n", () => {})).toBeNull();
    expect(chainSetting(vendor, 'file', '', () => {})).toBeNull();
    expect(chainSetting(null, 'command', '', () => {})).toBeNull();
  });
  test('a command keys cannot run is not written, and install says why', () => {
    const out: string[] = [];
    expect(chainSetting({ ...vendor, chain: null, why: 'it quotes its arguments' }, 'command', '', (l) => out.push(l))).toBeNull();
    expect(out).toEqual([`warning: x:1: AuthorizedKeysCommand ${SAFE} %u %f cannot be chained (it quotes its arguments): once iam-ssh's comes first, sshd no longer runs it`]);
  });
});

test('reportDisplaced: chained, replaced or not chained; the command user is told with its command; file mode displaces only the file', () => {
  const d = (keyword: string, args: string, match: string | null = null): Directive => ({ file: 'f', line: 3, keyword, args, match });
  const lines = (displaced: Directive[], keys: KeysSettings, chain: { program: string; args: string[] } | null) => {
    const out: string[] = [];
    reportDisplaced(displaced, keys, chain, (l) => out.push(l));
    return out;
  };
  const eic = [d('authorizedkeyscommand', `${SAFE} %u %f`), d('authorizedkeyscommanduser', 'ec2-instance-connect'), d('authorizedkeyscommand', '/bin/x', 'User bob')];
  expect(lines(eic, KEYS, { program: SAFE, args: ['%u', '%f'] })).toEqual([`note: f:3 AuthorizedKeysCommand ${SAFE} %u %f: keys runs it after iam-ssh's own lookup (KEYS_CHAIN_COMMAND), as iam-ssh`]);
  expect(lines(eic, KEYS, { program: '/opt/other', args: [] })).toEqual([`note: f:3 AuthorizedKeysCommand ${SAFE} %u %f no longer runs; keys chains /opt/other (KEYS_CHAIN_COMMAND)`]);
  expect(lines(eic, KEYS, null)).toEqual([`note: f:3 AuthorizedKeysCommand ${SAFE} %u %f no longer runs: sshd runs one command, iam-ssh's, and KEYS_CHAIN_COMMAND is not set`]);
  expect(lines([...eic, d('authorizedkeysfile', '.ssh/authorized_keys')], { ...KEYS, mode: 'file' }, null)).toEqual(['note: f:3 authorizedkeysfile .ssh/authorized_keys is now ignored (iam-ssh\'s comes first)']);
});

describe('unitOverride', () => {
  test("Ubuntu's drop-in: ExecStart without the key-source options, in /etc/systemd/system, after the vendor's", () => {
    const o = unitOverride(serviceOf('/usr/sbin/sshd -D -o "AuthorizedKeysCommand /usr/share/ec2-instance-connect/eic_run_authorized_keys %%u %%f" -o "AuthorizedKeysCommandUser ec2-instance-connect" $SSHD_OPTS'), KEYS);
    expect(o).toMatchObject({ unit: 'ssh.service', path: '/etc/systemd/system/ssh.service.d/zz-iam-ssh.conf' });
    expect(o!.text).toMatch(/^# Managed by `iam-ssh install`[^]*\n\[Service\]\nExecStart=\nExecStart=\/usr\/sbin\/sshd -D \$SSHD_OPTS\n$/);
    expect(o!.text).toContain('ec2-instance-connect.conf:3');
  });
  test('nothing to take off, or file mode and only command options: no drop-in', () => {
    expect(unitOverride(serviceOf('/usr/sbin/sshd -D $SSHD_OPTS'), KEYS)).toBeNull();
    expect(unitOverride(serviceOf('/usr/sbin/sshd -D -o "AuthorizedKeysCommand /x %%u"'), { ...KEYS, mode: 'file' })).toBeNull();
    expect(unitOverride(null, KEYS)).toBeNull();
  });
});
