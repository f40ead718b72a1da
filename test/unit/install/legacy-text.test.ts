/** Recognising aws-ec2-ssh's schedule and sshd lines, and disabling them reversibly. */
import fc from 'fast-check';
import {
  cronSchedule, disableLegacySshd, keptName, keptNames, legacyRecord, legacySshdLines, markedSshdLines, predecessorReport,
  restoreCommands, runsImport, SSHD_MARK, type LegacyScan,
} from '../../../src/install/legacy-text';

// What its install.sh writes to /etc/cron.d/import_users.
const INSTALL_SH_CRON = 'SHELL=/bin/bash\nPATH=/usr/local/bin:/bin:/usr/bin:/usr/local/sbin:/usr/sbin:/sbin:/opt/aws/bin\nMAILTO=root\nHOME=/\n*/10 * * * * root /opt/import_users.sh\n';
// What its RPM packages as /etc/cron.d/import_users.
const RPM_CRON = '*/10 * * * * root /usr/bin/import_users.sh\n';

describe('runsImport', () => {
  test.each([
    '*/10 * * * * root /opt/import_users.sh',
    '*/10 * * * * root /usr/bin/import_users.sh',
    '*/5 * * * * /opt/import_users.sh >/dev/null 2>&1',
    '@reboot root bash /opt/import_users.sh',
    '0 * * * * root cd /opt && ./import_users.sh',
    "*/10 * * * * root sh -c '/opt/import_users.sh'",
  ])('runs it: %s', (line) => expect(runsImport(line)).toBe(true));
  test.each([
    '*/10 * * * * root /opt/import_users.sh.bak',
    '*/10 * * * * root /opt/my_import_users.sh',
    '*/10 * * * * root /usr/local/bin/iam-ssh sync',
    '*/10 * * * * root /opt/import_users.shx',
    '',
  ])('does not: %s', (line) => expect(runsImport(line)).toBe(false));
});

describe('cronSchedule', () => {
  test("install.sh's file: its one job line, movable", () => {
    expect(cronSchedule('/etc/cron.d/import_users', INSTALL_SH_CRON, true)).toEqual({
      path: '/etc/cron.d/import_users', movable: true, lines: [{ line: 5, text: '*/10 * * * * root /opt/import_users.sh' }],
    });
  });
  test("the RPM's file, with CRLF line ends", () => {
    expect(cronSchedule('/etc/cron.d/import_users', RPM_CRON.replace('\n', '\r\n'), true)).toMatchObject({ movable: true, lines: [{ line: 1 }] });
  });
  test('commented out, or only settings: no schedule', () => {
    expect(cronSchedule('/etc/cron.d/import_users', INSTALL_SH_CRON.replace('*/10', '#*/10'), true)).toBeNull();
    expect(cronSchedule('/etc/cron.d/import_users', 'MAILTO=root\nPATH = /bin\n\n', true)).toBeNull();
  });
  test('another file, or its file holding another job too: named, not movable', () => {
    expect(cronSchedule('/etc/crontab', RPM_CRON, false)).toMatchObject({ movable: false, lines: [{ line: 1 }] });
    const mixed = cronSchedule('/etc/cron.d/import_users', INSTALL_SH_CRON + '0 3 * * * root /usr/local/bin/backup\n', true);
    expect(mixed).toMatchObject({ movable: false, lines: [{ line: 5 }] });
  });
  test('a user crontab (no user field)', () => {
    expect(cronSchedule('/var/spool/cron/crontabs/root', '# edit with crontab -e\n*/10 * * * * /opt/import_users.sh\n', false)?.lines).toEqual([{ line: 2, text: '*/10 * * * * /opt/import_users.sh' }]);
  });
});

const DEBIAN_TAIL = '#AuthorizedKeysCommand none\n#AuthorizedKeysCommandUser nobody\nSubsystem sftp /usr/lib/openssh/sftp-server\n';
const APPENDED = 'AuthorizedKeysCommand /opt/authorized_keys_command.sh\nAuthorizedKeysCommandUser nobody\n';

describe('legacySshdLines', () => {
  test("the two lines its install.sh appends", () => {
    expect(legacySshdLines(DEBIAN_TAIL + APPENDED)).toEqual([
      { line: 4, text: 'AuthorizedKeysCommand /opt/authorized_keys_command.sh' },
      { line: 5, text: 'AuthorizedKeysCommandUser nobody' },
    ]);
  });
  test("the RPM's script, '=' syntax, any case, inside a Match block", () => {
    expect(legacySshdLines('authorizedkeyscommand=/usr/bin/authorized_keys_command.sh\n').map((l) => l.line)).toEqual([1]);
    expect(legacySshdLines('Match Group admins\n  AuthorizedKeysCommand /opt/authorized_keys_command.sh\n  AuthorizedKeysCommandUser nobody\n').map((l) => l.line)).toEqual([2, 3]);
  });
  test('not: comments, other commands, a lone AuthorizedKeysCommandUser nobody', () => {
    expect(legacySshdLines(DEBIAN_TAIL)).toEqual([]);
    expect(legacySshdLines('#AuthorizedKeysCommand /opt/authorized_keys_command.sh\nAuthorizedKeysCommandUser nobody\n')).toEqual([]);
    expect(legacySshdLines('AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f\nAuthorizedKeysCommandUser nobody\n')).toEqual([]);
    expect(legacySshdLines('AuthorizedKeysCommand /opt/authorized_keys_command.sh.old\n')).toEqual([]);
  });
});

describe('disableLegacySshd', () => {
  test('marks exactly its lines; a second pass changes nothing', () => {
    const once = disableLegacySshd(DEBIAN_TAIL + APPENDED);
    expect(once.text).toBe(DEBIAN_TAIL + `${SSHD_MARK}AuthorizedKeysCommand /opt/authorized_keys_command.sh\n${SSHD_MARK}AuthorizedKeysCommandUser nobody\n`);
    expect(once.lines).toHaveLength(2);
    expect(markedSshdLines(once.text)).toBe(2);
    expect(disableLegacySshd(once.text)).toEqual({ text: once.text, lines: [] });
  });

  test('for any file: line count kept, nothing of it left active, and removing the mark restores it byte for byte', () => {
    const line = fc.constantFrom(
      'AuthorizedKeysCommand /opt/authorized_keys_command.sh', 'AuthorizedKeysCommandUser nobody', '  AuthorizedKeysCommand=/usr/bin/authorized_keys_command.sh',
      'AuthorizedKeysCommand /usr/local/bin/iam-ssh keys %u %f', 'Match User bob', '#AuthorizedKeysCommand none', '', 'PermitRootLogin no', 'AuthorizedKeysCommandUser nobody\r',
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.boolean(), (lines, finalNewline) => {
        const text = lines.join('\n') + (finalNewline ? '\n' : '');
        const { text: out } = disableLegacySshd(text);
        expect(out.split('\n')).toHaveLength(text.split('\n').length);
        expect(legacySshdLines(out)).toEqual([]);
        expect(out.split('\n').map((l) => (l.startsWith(SSHD_MARK) ? l.slice(SSHD_MARK.length) : l)).join('\n')).toBe(text);
      }),
    );
  });
});

test('kept copies: numbered names, oldest first; anything else ignored', () => {
  expect([1, 2, 10].map(keptName)).toEqual(['import_users', 'import_users.2', 'import_users.10']);
  expect(keptNames(['import_users.10', 'other', 'import_users', 'import_users.x', 'import_users.0', 'import_users.2', 'import_users.2.tmp-1'])).toEqual(['import_users', 'import_users.2', 'import_users.10']);
});

test('restore commands: the newest kept copy back to cron.d, the mark off the sshd lines', () => {
  expect(restoreCommands({ kept: ['/s/aws-ec2-ssh/import_users', '/s/aws-ec2-ssh/import_users.2'], sshd: { path: '/etc/ssh/sshd_config', lines: [], marked: 2 } })).toEqual([
    'mv /s/aws-ec2-ssh/import_users.2 /etc/cron.d/import_users',
    `sed -i 's/^${SSHD_MARK}//' /etc/ssh/sshd_config  # then reload sshd`,
  ]);
  expect(restoreCommands({ kept: [], sshd: { path: '/etc/ssh/sshd_config', lines: [], marked: 0 } })).toEqual([]);
});

test('the manifest record keeps earlier moves, adds new ones and copies found kept, once each', () => {
  const a = { from: '/etc/cron.d/import_users', to: '/s/import_users' };
  const b = { from: '/etc/cron.d/import_users', to: '/s/import_users.2' };
  expect(legacyRecord(undefined, [], [], null)).toBeUndefined();
  expect(legacyRecord(undefined, [a], [], { path: '/etc/ssh/sshd_config', lines: 2 })).toEqual({ cron: [a], sshd: { path: '/etc/ssh/sshd_config', lines: 2 } });
  expect(legacyRecord({ cron: [a], sshd: { path: '/etc/ssh/sshd_config', lines: 2 } }, [a, b], ['/s/import_users'], null)).toEqual({ cron: [a, b], sshd: { path: '/etc/ssh/sshd_config', lines: 2 } });
  expect(legacyRecord(undefined, [], ['/s/import_users'], null)).toEqual({ cron: [a], sshd: null });
});

describe('predecessorReport', () => {
  const scan = (over: Partial<LegacyScan>): LegacyScan => ({
    schedules: [], keptDir: '/var/lib/iam-ssh/aws-ec2-ssh', kept: [], scripts: ['/opt/import_users.sh', '/opt/authorized_keys_command.sh'],
    config: '/etc/aws-ec2-ssh.conf', sshd: { path: '/etc/ssh/sshd_config', lines: [], marked: 0 }, unreadable: [], ...over,
  });
  test('silent when nothing of it is in force (a second install)', () => {
    expect(predecessorReport(scan({ kept: ['/var/lib/iam-ssh/aws-ec2-ssh/import_users'] }), false, '/etc/iam-ssh.conf')).toEqual([]);
  });
  test('each piece and what install does to it', () => {
    const s = scan({ schedules: [cronSchedule('/etc/cron.d/import_users', INSTALL_SH_CRON, true)!], sshd: { path: '/etc/ssh/sshd_config', lines: legacySshdLines(APPENDED), marked: 0 } });
    const text = predecessorReport(s, true, '/etc/iam-ssh.conf').join('\n');
    expect(text).toContain("its schedule /etc/cron.d/import_users goes to /var/lib/iam-ssh/aws-ec2-ssh/ before iam-ssh's first sync");
    expect(text).toContain('its lines in /etc/ssh/sshd_config are commented out');
    expect(text).toContain('keep /opt/import_users.sh: nothing runs it');
    expect(text).toContain('keep /opt/authorized_keys_command.sh: sshd no longer runs it');
    expect(text).toContain('keep /etc/aws-ec2-ssh.conf: its settings are imported into /etc/iam-ssh.conf');
    expect(predecessorReport(s, false, '/etc/iam-ssh.conf').join('\n')).toContain('not read while /etc/iam-ssh.conf exists');
  });
});
