import {
  toLocalName, checkLocalName, isValidLocalName, isIamUserName, mapIamNames, LOCAL_NAME_MAX,
  toLegacyName, isLegacyLocalName, isManagedNameSyntax,
} from '../../../src/sync/names';

describe('toLocalName', () => {
  test.each([
    ['Alice.Smith', 'alice.smith'],
    ['Carol+ops@corp.example', 'carol.plus.ops.at.corp.example'],
    ['a=b,c', 'a.equal.b.comma.c'],
    ['_svc', '_svc'],
    ['dev-1_x', 'dev-1_x'],
    ['ALLCAPS', 'allcaps'],
    ['a++b', 'a.plus..plus.b'],
  ])('%s -> %s', (iam, local) => {
    expect(toLocalName(iam)).toBe(local);
  });
});

describe('isIamUserName', () => {
  test.each(['a', 'Alice.Smith', 'Carol+ops@corp.example', 'a=b,c', '_svc', '1abc', 'x'.repeat(64)])('accepts %j', (n) => {
    expect(isIamUserName(n)).toBe(true);
  });
  test.each(['', 'a b', 'a/b', 'x'.repeat(65), 'jürgen', '名前', 'a\nb', 'a:b', 'a$b'])('rejects %j', (n) => {
    expect(isIamUserName(n)).toBe(false);
  });
});

describe('checkLocalName', () => {
  test('exactly LOCAL_NAME_MAX (32) characters is fine, 33 is too long', () => {
    expect(LOCAL_NAME_MAX).toBe(32);
    expect(checkLocalName('a'.repeat(32))).toBeNull();
    expect(checkLocalName('a'.repeat(33))).toBe('too-long');
  });
  test.each([
    ['', 'empty'],
    ['1alice', 'bad-first-char'],
    ['-alice', 'bad-first-char'],
    ['.alice', 'bad-first-char'],
    ['Alice', 'bad-first-char'],
    ['al+ice', 'bad-char'],
    ['al ice', 'bad-char'],
    ['alIce', 'bad-char'],
    ['root', 'reserved'],
    ['nobody', 'reserved'],
    ['iam-ssh', 'reserved'],
    ['sshd', 'reserved'],
  ])('%j -> %s', (name, problem) => {
    expect(checkLocalName(name)).toBe(problem);
    expect(isValidLocalName(name)).toBe(false);
  });
  test.each(['alice', '_svc', 'a', 'a.b-c_d9', 'rooty', 'nobody2'])('%j is valid', (name) => {
    expect(checkLocalName(name)).toBeNull();
    expect(isValidLocalName(name)).toBe(true);
  });
});

/** The single skip entry for an IAM name, failing when there is not exactly one. */
function skipOf(iamNames: string[], iamName: string) {
  const m = mapIamNames(iamNames);
  const hits = m.skipped.filter((s) => s.iamName === iamName);
  expect(hits).toHaveLength(1);
  expect(m.byLocal.has(hits[0]!.localName) && m.byLocal.get(hits[0]!.localName) === iamName).toBe(false);
  return hits[0]!;
}

describe('mapIamNames: the tricky-name table', () => {
  test.each([
    ['Alice.Smith', 'alice.smith'],
    ['Carol+ops@corp.example', 'carol.plus.ops.at.corp.example'],
    ['a=b,c', 'a.equal.b.comma.c'],
    ['_svc', '_svc'],
    ['x'.repeat(32), 'x'.repeat(32)],
  ])('%j maps to %j', (iam, local) => {
    const m = mapIamNames([iam]);
    expect(m.skipped).toEqual([]);
    expect([...m.byLocal]).toEqual([[local, iam]]);
  });

  test.each([
    ['1alice', '1alice', 'bad-first-char'],
    ['9', '9', 'bad-first-char'],
    ['-x', '-x', 'bad-first-char'],
    ['+ops', '.plus.ops', 'bad-first-char'],
    ['x'.repeat(33), 'x'.repeat(33), 'too-long'],
    ['x'.repeat(64), 'x'.repeat(64), 'too-long'],
    // 11 IAM characters, 36 local ones: the expansion alone passes the limit
    ['a+b+c+d+e+f', 'a.plus.b.plus.c.plus.d.plus.e.plus.f', 'too-long'],
    // 30 IAM characters whose expansion is exactly 33
    ['a@' + 'b'.repeat(28), 'a.at.' + 'b'.repeat(28), 'too-long'],
    ['Root', 'root', 'reserved'],
    ['root', 'root', 'reserved'],
    ['NOBODY', 'nobody', 'reserved'],
    ['iam-ssh', 'iam-ssh', 'reserved'],
    ['IAM-SSH', 'iam-ssh', 'reserved'],
  ])('%j is skipped (local %j): %s', (iam, local, reason) => {
    const m = mapIamNames([iam, 'alice']);
    expect(m.skipped).toEqual([{ iamName: iam, localName: local, reason }]);
    expect([...m.byLocal]).toEqual([['alice', 'alice']]);
  });

  test('the expansion is what is measured: 32 local characters pass, 33 do not', () => {
    const iam = 'a@' + 'b'.repeat(27); // a.at. + 27 = 32
    expect(toLocalName(iam)).toHaveLength(32);
    expect(mapIamNames([iam]).byLocal.get(toLocalName(iam))).toBe(iam);
    const iam33 = 'a@' + 'b'.repeat(28);
    expect(toLocalName(iam33)).toHaveLength(33);
    expect(skipOf([iam33], iam33).reason).toBe('too-long');
  });

  test.each([
    ['a b'],
    ['a/b'],
    [''],
    ['x'.repeat(65)],
    ['jürgen'],
    ['ÅSA'],
    ['a\tb'],
  ])('%j is not an IAM name', (iam) => {
    const s = skipOf([iam, 'bob'], iam);
    expect(s.reason).toBe('not-iam-name');
    expect(s.localName).toBe(toLocalName(iam));
  });

  test('Bob and bob collide: both skipped, bobby is unaffected', () => {
    const m = mapIamNames(['bobby', 'bob', 'Bob']);
    expect(m.byLocal.has('bob')).toBe(false);
    expect(m.byLocal.get('bobby')).toBe('bobby');
    expect(m.skipped).toEqual([
      { iamName: 'Bob', localName: 'bob', reason: 'collision' },
      { iamName: 'bob', localName: 'bob', reason: 'collision' },
    ]);
  });

  test('a collision through spelled-out characters (a+b vs A.plus.B)', () => {
    const m = mapIamNames(['a+b', 'A.plus.B', 'c']);
    expect(m.byLocal.has('a.plus.b')).toBe(false);
    expect(m.skipped.map((s) => [s.iamName, s.reason]).sort()).toEqual([['A.plus.B', 'collision'], ['a+b', 'collision']]);
    expect(m.byLocal.get('c')).toBe('c');
  });

  test('three-way collision skips all three', () => {
    const m = mapIamNames(['BOB', 'Bob', 'bob']);
    expect(m.byLocal.size).toBe(0);
    expect(m.skipped.filter((s) => s.reason === 'collision')).toHaveLength(3);
  });

  test('duplicates in the input are counted once, not as a collision', () => {
    const m = mapIamNames(['alice', 'alice', 'Bob', 'Bob', 'Root', 'Root']);
    expect([...m.byLocal].sort()).toEqual([['alice', 'alice'], ['bob', 'Bob']]);
    expect(m.skipped).toEqual([{ iamName: 'Root', localName: 'root', reason: 'reserved' }]);
  });

  test('a name skipped for another reason does not cause a collision', () => {
    // "Root" is reserved, so it never competes with anything; "x y" is not an IAM name
    const m = mapIamNames(['Root', 'x y', 'xy']);
    expect(m.byLocal.get('xy')).toBe('xy');
    expect(m.skipped.map((s) => s.reason).sort()).toEqual(['not-iam-name', 'reserved']);
  });

  test('accepts any iterable, e.g. a Set or a generator', () => {
    function* gen() {
      yield 'alice';
      yield 'Bob';
    }
    expect([...mapIamNames(gen()).byLocal.keys()].sort()).toEqual(['alice', 'bob']);
    expect([...mapIamNames(new Set(['carol'])).byLocal.keys()]).toEqual(['carol']);
  });

  test('empty input', () => {
    expect(mapIamNames([])).toEqual({ byLocal: new Map(), skipped: [] });
  });
});

describe("aws-ec2-ssh's names", () => {
  test.each([
    ['Alice.Smith', 'Alice.Smith'],
    ['Carol+Ops@Corp.example', 'Carol.plus.Ops.at.Corp.example'],
    ['a=B,c', 'a.equal.B.comma.c'],
    ['bob', 'bob'],
    ['1alice', '1alice'],
  ])('toLegacyName(%j) = %j: spelled out as there, case kept', (iam, legacy) => {
    expect(toLegacyName(iam)).toBe(legacy);
    expect(toLegacyName(iam).toLowerCase()).toBe(toLocalName(iam));
  });

  test.each(['Alice.Smith', 'bob', '1alice', '_svc', 'A', 'x'.repeat(32), 'Carol.plus.Ops.at.Corp.example', 'a-b_c.D9', 'Rooty'])('%j is a name iam-ssh may adopt', (n) => {
    expect(isLegacyLocalName(n)).toBe(true);
    expect(isManagedNameSyntax(n)).toBe(true);
  });

  test.each([
    ['', 'empty'], ['x'.repeat(33), 'over 32'], ['-Alice', 'an option'], ['-oProxyCommand=x', 'an option'],
    ['.', 'a directory'], ['..', 'a directory'], ['.Alice', 'a hidden file'], ['1234', 'read as a UID'], ['0', 'read as a UID'],
    ['Root', 'reserved'], ['ROOT', 'reserved'], ['Nobody', 'reserved'], ['IAM-SSH', 'reserved'],
    ['Alice Smith', 'a space'], ['Alice/..', 'a path'], ['Alice+ops', 'not spelled out'], ['Al@ce', 'not spelled out'],
    ['Alice\n', 'a line break'], ['Alice:x', 'a field separator'], ['Jürgen', 'not ASCII'], ['a$', 'a shell character'],
  ])('%j is refused (%s)', (n) => {
    expect(isLegacyLocalName(n)).toBe(false);
    expect(isManagedNameSyntax(n)).toBe(false);
  });
});
