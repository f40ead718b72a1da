import {
  parseSshdConfig, insertBlock, removeBlock, removeBlockKeeping, END_MARK, hasBlock, dropInText, keySourceLines, includes, otherKeySources, parseEffective, effectiveIsOurs, BEGIN_MARK,
  type KeysSettings,
} from '../../../src/platform/sshd-config';

const CMD: KeysSettings = { mode: 'command', binary: '/usr/local/bin/iam-ssh', commandUser: 'iam-ssh', keysFileDir: '/etc/ssh/iam-ssh/authorized_keys' };
const FILE: KeysSettings = { ...CMD, mode: 'file' };

describe('parseSshdConfig', () => {
  test('keywords lower-cased, comments skipped, "=" accepted, Match scope tracked until Match all', () => {
    const d = parseSshdConfig('f', '# c\nPort 22\nAuthorizedKeysCommand=/bin/x %u\n\nMatch User bob\n  AuthorizedKeysFile none\nMatch all\nX11Forwarding no\n');
    expect(d.map((x) => [x.line, x.keyword, x.args, x.match])).toEqual([
      [2, 'port', '22', null],
      [3, 'authorizedkeyscommand', '/bin/x %u', null],
      [5, 'match', 'User bob', null],
      [6, 'authorizedkeysfile', 'none', 'User bob'],
      [7, 'match', 'all', null],
      [8, 'x11forwarding', 'no', null],
    ]);
  });
  test('includes lists global Include patterns in order', () => {
    expect(includes(parseSshdConfig('f', 'Include /etc/ssh/sshd_config.d/*.conf other.conf\nPort 1\n'))).toEqual([{ line: 1, patterns: ['/etc/ssh/sshd_config.d/*.conf', 'other.conf'] }]);
  });
});

describe('the marked block', () => {
  const texts = ['', 'Port 22\n', 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n', 'no trailing newline', '\n\n# only comments\n'];
  test.each(texts)('removeBlock(insertBlock(t)) is t byte for byte: %j', (t) => {
    const withBlock = insertBlock(t, CMD);
    expect(withBlock.startsWith(BEGIN_MARK + '\n')).toBe(true);
    expect(hasBlock(withBlock)).toBe(true);
    expect(removeBlock(withBlock)).toBe(t);
  });
  test('inserting twice keeps one block (idempotent)', () => {
    const once = insertBlock('Port 22\n', CMD);
    expect(insertBlock(once, CMD)).toBe(once);
    expect(insertBlock(once, FILE)).toBe(insertBlock('Port 22\n', FILE));
  });
  test('a block without its end line is an error, not a guess', () => {
    expect(() => removeBlock(BEGIN_MARK + '\nAuthorizedKeysCommand x\nPort 22\n')).toThrow(/no "# END iam-ssh" line/);
  });
  test('text without a block is returned as is', () => {
    expect(removeBlock('Port 22\n')).toBe('Port 22\n');
  });
  test('lines an administrator added inside the block are kept where it was, and reported', () => {
    const withBlock = insertBlock('Port 22\n', CMD);
    const edited = withBlock.replace(`${END_MARK}\n`, `# keep me\nPermitRootLogin no\n${END_MARK}\n`);
    expect(removeBlockKeeping(edited)).toEqual({ text: '# keep me\nPermitRootLogin no\nPort 22\n', kept: ['# keep me', 'PermitRootLogin no'] });
    expect(removeBlockKeeping(withBlock)).toEqual({ text: 'Port 22\n', kept: [] });
  });
});

describe('the lines and the effective check', () => {
  test('command mode names the binary, %u %f and the command user; file mode keeps users\' own files', () => {
    expect(keySourceLines(CMD)).toEqual(['AuthorizedKeysCommand /usr/local/bin/iam-ssh keys %u %f', 'AuthorizedKeysCommandUser iam-ssh']);
    expect(keySourceLines(FILE)).toEqual(['AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/iam-ssh/authorized_keys/%u']);
    expect(dropInText(CMD).endsWith('AuthorizedKeysCommandUser iam-ssh\n')).toBe(true);
  });
  test('effectiveIsOurs reads sshd -T output', () => {
    const ours = parseEffective('port 22\nauthorizedkeyscommand /usr/local/bin/iam-ssh keys %u %f\nauthorizedkeyscommanduser iam-ssh\n');
    expect(effectiveIsOurs(ours, CMD).ok).toBe(true);
    const vendor = parseEffective('authorizedkeyscommand /opt/aws/bin/eic_run_authorized_keys %u %f\nauthorizedkeyscommanduser ec2-instance-connect\n');
    expect(effectiveIsOurs(vendor, CMD)).toEqual({ ok: false, actual: 'AuthorizedKeysCommand /opt/aws/bin/eic_run_authorized_keys %u %f; AuthorizedKeysCommandUser ec2-instance-connect' });
    expect(effectiveIsOurs(parseEffective('authorizedkeyscommand /usr/local/bin/iam-ssh keys %u %f\nauthorizedkeyscommanduser nobody\n'), CMD).ok).toBe(false);
    expect(effectiveIsOurs(parseEffective('authorizedkeysfile .ssh/authorized_keys /etc/ssh/iam-ssh/authorized_keys/%u\n'), FILE).ok).toBe(true);
    expect(effectiveIsOurs(parseEffective('authorizedkeysfile .ssh/authorized_keys\n'), FILE).ok).toBe(false);
  });
  test('otherKeySources: global ones are shadowed, Match ones still override', () => {
    const d = parseSshdConfig('f', 'AuthorizedKeysCommand /x\nPort 22\nMatch Group admins\nAuthorizedKeysFile none\n');
    const { overriding, shadowed } = otherKeySources(d);
    expect(shadowed.map((x) => x.line)).toEqual([1]);
    expect(overriding.map((x) => x.line)).toEqual([4]);
  });
});
