/**
 * sshd as its systemd unit starts it: word splitting, the ExecStart that counts, environment
 * expansion, sshd's -o/-f options, the ExecStart without the vendor's key-source options, and
 * the unit files read from disk (temporary unit directories) or from `systemctl cat`.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execArgv, execStartWithout, optionKeyword, parseEnvironmentFile, parseSshdArgv, parseSystemctlCat, parseUnitFiles, splitUnitWords, type ExecStart } from '../../../src/platform/sshd-unit';
import { readSshdService } from '../../../src/platform/sshd';
import type { Exec } from '../../../src/platform/exec';

// execa is an ES module that jest does not load; every test here passes its own runner.
jest.mock('../../../src/platform/exec', () => ({ exec: () => Promise.reject(new Error('not in unit tests')) }));

/** Debian's ssh.service, and the drop-in Ubuntu's ec2-instance-connect package adds. */
const SSH_SERVICE = `[Unit]
Description=OpenBSD Secure Shell server

[Service]
EnvironmentFile=-/etc/default/ssh
ExecStartPre=/usr/sbin/sshd -t
ExecStart=/usr/sbin/sshd -D $SSHD_OPTS
ExecReload=/bin/kill -HUP $MAINPID

[Install]
Alias=sshd.service
`;
const EIC_DROP_IN = `[Service]
ExecStart=
ExecStart=/usr/sbin/sshd -D -o "AuthorizedKeysCommand /usr/share/ec2-instance-connect/eic_run_authorized_keys %%u %%f" -o "AuthorizedKeysCommandUser ec2-instance-connect" $SSHD_OPTS
`;
const KEY_SOURCES = (k: string) => ['authorizedkeyscommand', 'authorizedkeyscommanduser'].includes(k);
const execOf = (value: string): ExecStart => parseUnitFiles([{ path: 'u', text: `[Service]\nExecStart=${value}\n` }]).execStart!;

describe('splitUnitWords', () => {
  test('quotes, escapes and %% as systemd reads them; raw text kept', () => {
    expect(splitUnitWords(`/usr/sbin/sshd -D -o "A b %%u" 'c d' e\\ f "-oX=1"`)).toEqual([
      { raw: '/usr/sbin/sshd', value: '/usr/sbin/sshd' },
      { raw: '-D', value: '-D' },
      { raw: '-o', value: '-o' },
      { raw: '"A b %%u"', value: 'A b %u' },
      { raw: "'c d'", value: 'c d' },
      { raw: 'e\\ f', value: 'e f' },
      { raw: '"-oX=1"', value: '-oX=1' },
    ]);
  });
  test('an unterminated quote is an error, not a guess', () => {
    expect(() => splitUnitWords('/usr/sbin/sshd -o "AuthorizedKeysCommand /x')).toThrow(/unterminated quote/);
  });
});

describe('parseUnitFiles', () => {
  test('the last ExecStart after the last reset counts; other sections and keys are ignored', () => {
    const s = parseUnitFiles([{ path: '/lib/systemd/system/ssh.service', text: SSH_SERVICE }, { path: '/lib/systemd/system/ssh.service.d/ec2-instance-connect.conf', text: EIC_DROP_IN }]);
    expect(s.execStart).toMatchObject({ file: '/lib/systemd/system/ssh.service.d/ec2-instance-connect.conf', line: 3, prefix: '' });
    expect(s.environmentFiles).toEqual([{ path: '/etc/default/ssh', optional: true }]);
  });
  test('a reset with nothing after it leaves no ExecStart; continuation lines join; prefixes are kept apart', () => {
    expect(parseUnitFiles([{ path: 'a', text: SSH_SERVICE }, { path: 'b', text: '[Service]\nExecStart=\n' }]).execStart).toBeNull();
    const s = parseUnitFiles([{ path: 'a', text: '[Service]\nExecStart=-/usr/sbin/sshd -D \\\n  -o "PermitRootLogin no"\nEnvironment="A=1 2" B=3\n' }]);
    expect(s.execStart!.prefix).toBe('-');
    expect(s.execStart!.words.map((w) => w.value)).toEqual(['/usr/sbin/sshd', '-D', '-o', 'PermitRootLogin no']);
    expect([...s.environment]).toEqual([['A', '1 2'], ['B', '3']]);
  });
});

describe('execArgv and parseSshdArgv', () => {
  test('$VAR alone splits, ${VAR} stays one word, $$ is a dollar; -o and -f are read as getopt reads them', () => {
    const exec = execOf('/usr/sbin/sshd -D $SSHD_OPTS -o "Banner ${BANNER}" -oPort=$$1 -Df /etc/ssh/other');
    const argv = execArgv(exec, new Map([['SSHD_OPTS', ' -o  "LogLevel=DEBUG"  -e'], ['BANNER', '/etc/issue net']]));
    expect(argv).toEqual(['-D', '-o', '"LogLevel=DEBUG"', '-e', '-o', 'Banner /etc/issue net', '-oPort=$1', '-Df', '/etc/ssh/other']);
    expect(parseSshdArgv(argv)).toEqual({ configFile: '/etc/ssh/other', options: ['"LogLevel=DEBUG"', 'Banner /etc/issue net', 'Port=$1'] });
  });
  test('the : prefix expands nothing; @ names argv[0] separately', () => {
    expect(execArgv(execOf(':/usr/sbin/sshd $X'), new Map([['X', '-o A=1']]))).toEqual(['$X']);
    expect(execArgv(execOf('@/usr/sbin/sshd sshd -D'), new Map())).toEqual(['-D']);
  });
  test('an argument that looks like an option is the argument of the flag before it', () => {
    expect(parseSshdArgv(['-f', '-oX', '-o', 'Y z', 'operand', '-oW v', '--', '-o', 'after'])).toEqual({ configFile: '-oX', options: ['Y z', 'W v'] });
  });
  test('optionKeyword', () => {
    expect(optionKeyword('AuthorizedKeysCommand /x %u')).toBe('authorizedkeyscommand');
    expect(optionKeyword('AuthorizedKeysCommandUser=ec2-instance-connect')).toBe('authorizedkeyscommanduser');
    expect(optionKeyword('  Port 22')).toBe('port');
  });
});

describe('execStartWithout: the ExecStart install writes, minus the key-source options', () => {
  test("Ubuntu's EIC drop-in: both options go, everything else stays as written", () => {
    const exec = parseUnitFiles([{ path: 'd', text: EIC_DROP_IN }]).execStart!;
    expect(execStartWithout(exec, KEY_SOURCES)).toEqual({
      text: '/usr/sbin/sshd -D $SSHD_OPTS',
      dropped: ['AuthorizedKeysCommand /usr/share/ec2-instance-connect/eic_run_authorized_keys %u %f', 'AuthorizedKeysCommandUser ec2-instance-connect'],
    });
  });
  test('other options, quoting, %% and the prefix are kept; inline and clustered -o forms are understood', () => {
    const exec = execOf(`-/usr/sbin/sshd -Do "AuthorizedKeysCommand /x %%u" -o "PermitUserEnvironment EIC_*" "-oAuthorizedKeysCommandUser=x" -e -f /etc/ssh/sshd_config -o 'Banner "%%n"' $SSHD_OPTS`);
    expect(execStartWithout(exec, KEY_SOURCES)).toEqual({
      text: `-/usr/sbin/sshd -D -o "PermitUserEnvironment EIC_*" -e -f /etc/ssh/sshd_config -o 'Banner "%%n"' $SSHD_OPTS`,
      dropped: ['AuthorizedKeysCommand /x %u', 'AuthorizedKeysCommandUser=x'],
    });
  });
  test('the argument of another flag is never taken for an option; after -- nothing is touched', () => {
    const exec = execOf('/usr/sbin/sshd -f -o -o "AuthorizedKeysFile none" -- -o "AuthorizedKeysCommand /x"');
    expect(execStartWithout(exec, (k) => k === 'authorizedkeyscommand')).toBeNull();
    expect(execStartWithout(exec, (k) => k === 'authorizedkeysfile')!.text).toBe('/usr/sbin/sshd -f -o -- -o "AuthorizedKeysCommand /x"');
  });
  test('nothing to drop: null', () => {
    expect(execStartWithout(execOf('/usr/sbin/sshd -D $SSHD_OPTS'), KEY_SOURCES)).toBeNull();
  });
});

describe('parseEnvironmentFile', () => {
  test('assignments with and without quotes; comments and other lines skipped', () => {
    expect(parseEnvironmentFile('# comment\nSSHD_OPTS=\nA="-o X=1"\nB=\'y z\'\nnot a line\n  C = plain \n')).toEqual([['SSHD_OPTS', ''], ['A', '-o X=1'], ['B', 'y z'], ['C', 'plain']]);
  });
});

describe('parseSystemctlCat', () => {
  test('files per unit, fragment first; a unit asked for twice (an alias) comes twice', () => {
    const text = `# /lib/systemd/system/ssh.service\n${SSH_SERVICE}\n# /lib/systemd/system/ssh.service.d/ec2-instance-connect.conf\n${EIC_DROP_IN}\n# /lib/systemd/system/ssh.service\n${SSH_SERVICE}`;
    const units = parseSystemctlCat(text);
    expect(units.map((u) => u.map((f) => f.path))).toEqual([
      ['/lib/systemd/system/ssh.service', '/lib/systemd/system/ssh.service.d/ec2-instance-connect.conf'],
      ['/lib/systemd/system/ssh.service'],
    ]);
    expect(units[0]![1]!.text).toContain('ExecStart=\n');
  });
});

describe('readSshdService', () => {
  let root: string;
  let dirs: string[];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'iam-ssh-units-'));
    dirs = ['etc', 'run', 'usr-lib'].map((d) => join(root, d));
    for (const d of dirs) mkdirSync(d);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const noExec: Exec = async () => {
    throw new Error('systemctl must not run when systemd does not');
  };
  const write = (path: string, text: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  };

  test("Ubuntu: the vendor's drop-in in the lowest directory sets the -o options; an alias's drop-in and a higher directory's copy count", async () => {
    const [etc, , lib] = dirs as [string, string, string];
    write(join(lib, 'ssh.service'), SSH_SERVICE);
    symlinkSync(join(lib, 'ssh.service'), join(etc, 'sshd.service'));
    write(join(lib, 'ssh.service.d', 'ec2-instance-connect.conf'), EIC_DROP_IN);
    write(join(etc, 'sshd.service.d', 'aa-early.conf'), '[Service]\nEnvironment=X=1\n');
    const svc = await readSshdService(noExec, false, [], dirs);
    expect(svc).toMatchObject({ unit: 'ssh.service', argv: { configFile: null, options: ['AuthorizedKeysCommand /usr/share/ec2-instance-connect/eic_run_authorized_keys %u %f', 'AuthorizedKeysCommandUser ec2-instance-connect'] } });
    expect(svc!.files).toEqual([join(lib, 'ssh.service'), join(etc, 'sshd.service.d', 'aa-early.conf'), join(lib, 'ssh.service.d', 'ec2-instance-connect.conf')]);

    write(join(etc, 'ssh.service.d', 'ec2-instance-connect.conf'), '[Service]\nEnvironment=Y=2\n');
    write(join(etc, 'ssh.service.d', 'zz-iam-ssh.conf'), '[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D $SSHD_OPTS\n');
    const mine = join(etc, 'ssh.service.d', 'zz-iam-ssh.conf');
    expect((await readSshdService(noExec, false, [], dirs))!.argv.options).toEqual([]); // the vendor's drop-in is hidden by the one in etc
    expect((await readSshdService(noExec, false, [mine], dirs))!.execStart!.file).toBe(join(lib, 'ssh.service'));
  });

  test('no unit, or a masked one: null', async () => {
    expect(await readSshdService(noExec, false, [], dirs)).toBeNull();
    symlinkSync('/dev/null', join(dirs[0]!, 'ssh.service'));
    expect(await readSshdService(noExec, false, [], dirs)).toBeNull();
  });

  test('with systemd running, the unit comes from systemctl cat, skipped drop-ins left out', async () => {
    const calls: string[][] = [];
    const run: Exec = async (file, args) => {
      calls.push([file, ...args]);
      return { exitCode: 1, stderr: 'No files found for sshd.service.', stdout: `# /lib/systemd/system/ssh.service\n${SSH_SERVICE}\n# /lib/systemd/system/ssh.service.d/ec2-instance-connect.conf\n${EIC_DROP_IN}` };
    };
    const svc = await readSshdService(run, true, [], dirs);
    expect(calls).toEqual([['systemctl', 'is-active', '--quiet', 'sshd.socket'], ['systemctl', 'is-active', '--quiet', 'ssh.socket'], ['systemctl', 'cat', '--', 'ssh.service', 'sshd.service']]);
    expect(svc!.argv.options).toHaveLength(2);
    expect((await readSshdService(run, true, ['/lib/systemd/system/ssh.service.d/ec2-instance-connect.conf'], dirs))!.argv.options).toEqual([]);
  });

  test("socket-activated sshd (Flatcar: sshd.socket with Accept=yes) is read as the socket's template service, before an idle sshd.service", async () => {
    const calls: string[][] = [];
    const run: Exec = async (file, args) => {
      calls.push([file, ...args]);
      if (args[0] === 'is-active') return { exitCode: args.includes('sshd.socket') ? 0 : 3, stderr: '', stdout: '' };
      return { exitCode: 0, stderr: '', stdout: `# /etc/systemd/system/sshd@.service\n[Service]\nExecStart=-/usr/sbin/sshd -i -e -o LogLevel=VERBOSE\nStandardInput=socket\n\n# /lib/systemd/system/ssh.service\n${SSH_SERVICE}` };
    };
    const svc = await readSshdService(run, true, [], dirs);
    expect(calls.at(-1)).toEqual(['systemctl', 'cat', '--', 'sshd@.service', 'ssh.service', 'sshd.service']);
    expect(svc).toMatchObject({ unit: 'sshd@.service', argv: { options: ['LogLevel=VERBOSE'] } });
  });
});
