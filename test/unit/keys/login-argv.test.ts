import { parseLoginArgv } from '../../../src/keys/login-argv';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

describe('parseLoginArgv accepts the forms sshd uses', () => {
  test.each([
    [['keys', 'alice'], { user: 'alice', fingerprint: undefined, config: undefined }],
    [['keys', 'alice', FP], { user: 'alice', fingerprint: FP, config: undefined }],
    [['--config', '/etc/x.conf', 'keys', 'alice'], { user: 'alice', fingerprint: undefined, config: '/etc/x.conf' }],
    [['--config', 'rel.conf', 'keys', 'alice', FP], { user: 'alice', fingerprint: FP, config: 'rel.conf' }],
    [['--config=/etc/x.conf', 'keys', 'alice', FP], { user: 'alice', fingerprint: FP, config: '/etc/x.conf' }],
    [['--config=/etc/x.conf', 'keys', 'alice'], { user: 'alice', fingerprint: undefined, config: '/etc/x.conf' }],
    [['keys', 'carol.plus.ops', 'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'], { user: 'carol.plus.ops', fingerprint: 'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s', config: undefined }],
  ])('%j', (argv, want) => {
    expect(parseLoginArgv(argv)).toEqual(want);
  });

  test('a user name is passed through verbatim (validated later, not here)', () => {
    expect(parseLoginArgv(['keys', 'Weird User'])?.user).toBe('Weird User');
    expect(parseLoginArgv(['keys', '../x'])?.user).toBe('../x');
  });

  test('any other dash-word is not an option here but a user name (or fingerprint), refused later by keys', () => {
    expect(parseLoginArgv(['keys', '-oProxyCommand=x'])).toEqual({ user: '-oProxyCommand=x', fingerprint: undefined, config: undefined });
    expect(parseLoginArgv(['keys', 'alice', '-v'])).toEqual({ user: 'alice', fingerprint: '-v', config: undefined });
    expect(parseLoginArgv(['keys', 'alice', '--config=f'])).toEqual({ user: 'alice', fingerprint: '--config=f', config: undefined });
    expect(parseLoginArgv(['--config', 'f', 'keys', '--', FP])).toEqual({ user: '--', fingerprint: FP, config: 'f' });
  });

  test('does not modify its input', () => {
    const argv = Object.freeze(['--config', 'f', 'keys', 'alice', FP]);
    expect(parseLoginArgv(argv)).not.toBeNull();
    expect(argv).toEqual(['--config', 'f', 'keys', 'alice', FP]);
  });
});

describe('parseLoginArgv leaves everything else to yargs (null)', () => {
  test.each([
    [[]],
    [['--help']],
    [['-h']],
    [['--version']],
    [['sync']],
    [['sync', 'alice']],
    [['keys']],
    [['keys', '-h']],
    [['keys', '--help']],
    [['keys', 'alice', '--help']],
    [['keys', 'alice', FP, 'extra']],
    [['keys', '--config', 'f', 'alice']],
    [['keys', 'alice', '-h']],
    [['keys', 'alice', '--version']],
    [['keys', '--version']],
    [['keys', '--help', FP]],
    [['--config']],
    [['--config', 'f']],
    [['--config=']],
    [['--config=', 'keys', 'alice']],
    [['--config', '-x', 'keys', 'alice']],
    [['--config', '--help']],
    [['--config', 'f', 'sync']],
    [['--config', 'f', 'keys']],
    [['--config', 'f', '--config', 'g', 'keys', 'alice']],
    [['--config=f', '--help']],
    [['--verbose', 'keys', 'alice']],
    [['-c', 'f', 'keys', 'alice']],
    [['KEYS', 'alice']],
    [['alice', 'keys']],
  ])('%j', (argv) => {
    expect(parseLoginArgv(argv)).toBeNull();
  });
});

describe('parseLoginArgv and --stats', () => {
  test.each([
    [['--stats', 'keys', 'alice'], { user: 'alice', fingerprint: undefined, config: undefined, stats: true }],
    [['--stats', '--config', 'f', 'keys', 'alice', FP], { user: 'alice', fingerprint: FP, config: 'f', stats: true }],
    [['--config=f', '--stats', 'keys', 'alice'], { user: 'alice', fingerprint: undefined, config: 'f', stats: true }],
    [['keys', 'alice', '--stats'], { user: 'alice', fingerprint: undefined, config: undefined, stats: true }],
  ])('%j', (argv, want) => {
    expect(parseLoginArgv(argv)).toEqual(want);
  });

  test('absent unless asked for', () => {
    expect(parseLoginArgv(['keys', 'alice', FP])).not.toHaveProperty('stats');
  });

  test('a user name (sshd %u) is never read as the flag', () => {
    expect(parseLoginArgv(['keys', '--stats'])).toEqual({ user: '--stats', fingerprint: undefined, config: undefined });
    expect(parseLoginArgv(['keys', '--stats', FP])).toEqual({ user: '--stats', fingerprint: FP, config: undefined });
  });

  test('repeated or misplaced forms go to yargs', () => {
    expect(parseLoginArgv(['--stats', '--stats', 'keys', 'alice'])).toBeNull();
    expect(parseLoginArgv(['--stats', 'keys', 'alice', '--stats'])).toBeNull();
    expect(parseLoginArgv(['keys', 'alice', FP, '--stats'])).toBeNull();
  });
});
