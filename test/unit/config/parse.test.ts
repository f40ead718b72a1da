import { parseConfigText, ConfigError } from '../../../src/config/parse';

const FILE = 'test.conf';

/** Parses and returns key -> value of the last occurrence of each key. */
function values(text: string): Record<string, string> {
  return Object.fromEntries(parseConfigText(text, FILE).map((e) => [e.key, e.value]));
}

/** The ConfigError that parsing throws; fails the test when it does not throw one. */
function parseError(text: string, file = FILE): ConfigError {
  try {
    parseConfigText(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`parsed without error: ${JSON.stringify(text)}`);
}

describe('parseConfigText: values', () => {
  test.each([
    ['K=v', 'v'],
    ['K="v"', 'v'],
    ["K='v'", 'v'],
    ['K=', ''],
    ['K=""', ''],
    ["K=''", ''],
    ['K="a b  c"', 'a b  c'],
    ["K='a b'", 'a b'],
    ['K=admins,ops', 'admins,ops'],
    ['K="admins, ops"', 'admins, ops'],
    ['K=https://iam.example:4566/', 'https://iam.example:4566/'],
    ['K=/var/lib/x', '/var/lib/x'],
    ["K='$(literal) `x` \\\\n'", '$(literal) `x` \\\\n'],
    ['K="it\'s"', "it's"],
    ["K='say \"hi\"'", 'say "hi"'],
    ['K="a#b"', 'a#b'],
    ['K=##ALL##', '##ALL##'],
    ['K=a#b # c', 'a#b'],
    ['K=v # a comment', 'v'],
    ['K=v\t# a comment', 'v'],
    ['K="quoted" # a comment', 'quoted'],
    ["K='x'   # c", 'x'],
    ['K=v   ', 'v'],
    ['   K=v', 'v'],
    ['export K=v', 'v'],
    ['export   K="v w"', 'v w'],
    ['K==v', '=v'],
    ['K=a=b', 'a=b'],
  ])('%s -> %j', (line, value) => {
    const entries = parseConfigText(line, FILE);
    expect(entries).toEqual([{ key: 'K', value, line: 1 }]);
  });

  test('key names: letters, digits and underscores, not starting with a digit', () => {
    expect(values('_A1_b=1\nlower=2')).toEqual({ _A1_b: '1', lower: '2' });
    expect(parseError('1K=v').message).toContain('expected KEY=value');
    expect(parseError('K-X=v').message).toContain('expected KEY=value');
  });

  test('comments, blank lines and whitespace-only lines are skipped; line numbers are kept', () => {
    const text = ['# header', '', '   ', '\t# indented comment', 'A=1', '', 'B="two"', '#C=3'].join('\n');
    expect(parseConfigText(text, FILE)).toEqual([
      { key: 'A', value: '1', line: 5 },
      { key: 'B', value: 'two', line: 7 },
    ]);
  });

  test('CRLF line endings', () => {
    const text = '# c\r\nA=1\r\nB="two words"\r\n\r\nC=\'x\' # c\r\n';
    expect(parseConfigText(text, FILE)).toEqual([
      { key: 'A', value: '1', line: 2 },
      { key: 'B', value: 'two words', line: 3 },
      { key: 'C', value: 'x', line: 5 },
    ]);
  });

  test('no trailing newline, and an empty file', () => {
    expect(values('A=1\nB=2')).toEqual({ A: '1', B: '2' });
    expect(parseConfigText('', FILE)).toEqual([]);
    expect(parseConfigText('\n\n# only comments\n', FILE)).toEqual([]);
  });

  test('duplicates are all returned in order (the last one wins when applied)', () => {
    expect(parseConfigText('A=1\nA=2\nA="3"', FILE)).toEqual([
      { key: 'A', value: '1', line: 1 },
      { key: 'A', value: '2', line: 2 },
      { key: 'A', value: '3', line: 3 },
    ]);
    expect(values('A=1\nA=2')).toEqual({ A: '2' });
  });
});

describe('parseConfigText: errors name the file and the line', () => {
  test.each([
    ['unterminated double quote', 'K="abc', 'unterminated quote'],
    ['unterminated single quote', "K='abc", 'unterminated quote'],
    ['command substitution in double quotes', 'K="$(rm -rf /)"', 'shell expansion'],
    ['variable in double quotes', 'K="$HOME/x"', 'shell expansion'],
    ['backslash in double quotes', 'K="a\\nb"', 'shell expansion'],
    ['backticks in double quotes', 'K="`id`"', 'shell expansion'],
    ['unquoted backticks', 'K=`id`', 'shell syntax'],
    ['unquoted command substitution', 'K=$(id)', 'shell syntax'],
    ['unquoted variable', 'K=$HOME', 'shell syntax'],
    ['unquoted a;b', 'K=a;b', 'shell syntax'],
    ['unquoted pipe', 'K=a|b', 'shell syntax'],
    ['unquoted &', 'K=a&', 'shell syntax'],
    ['unquoted redirect', 'K=a>b', 'shell syntax'],
    ['unquoted backslash', 'K=a\\ b', 'shell syntax'],
    ['a line without =', 'JUSTAWORD', 'expected KEY=value'],
    ['spaces around =', 'K = v', 'expected KEY=value'],
    ['a bare export', 'export K', 'expected KEY=value'],
    ['text after an unquoted value', 'K=a b', 'unexpected text after the value'],
    ['text after a quoted value', 'K="a" b', 'unexpected text after the value'],
    ['a quote glued after a value', "K=a'b'", 'unexpected text after the value'],
    ['text glued after a closing quote', 'K="a"b', 'unexpected text after the value'],
    ['a space before the value', 'K= v', 'unexpected text after the value'],
  ])('%s', (_name, badLine, message) => {
    const text = `# comment\nGOOD=1\n\n${badLine}\nAFTER=2\n`;
    const err = parseError(text, '/etc/some.conf');
    expect(err.file).toBe('/etc/some.conf');
    expect(err.line).toBe(4);
    expect(err.message.startsWith('/etc/some.conf:4: ')).toBe(true);
    expect(err.message).toContain(message);
    expect(err.name).toBe('ConfigError');
  });

  test('single quotes allow what double quotes forbid', () => {
    expect(values("K='$(rm -rf /)'")).toEqual({ K: '$(rm -rf /)' });
    expect(values("K='`id`'")).toEqual({ K: '`id`' });
  });

  test('the line number counts CRLF lines and comments', () => {
    const err = parseError('# a\r\n\r\nA=1\r\nB="x\r\n');
    expect(err.line).toBe(4);
    expect(err.message).toBe(`${FILE}:4: unterminated quote`);
  });

  test('a quote does not continue onto the next line', () => {
    const err = parseError('K="first\nsecond"');
    expect(err.line).toBe(1);
    expect(err.message).toContain('unterminated quote');
  });
});

describe('ConfigError', () => {
  test('without a line', () => {
    const e = new ConfigError('/x.conf', null, 'boom');
    expect(e.message).toBe('/x.conf: boom');
    expect(e.line).toBeNull();
    expect(e).toBeInstanceOf(Error);
  });
  test('with a line', () => {
    expect(new ConfigError('/x.conf', 7, 'boom').message).toBe('/x.conf:7: boom');
  });
});
