/** The registry file: entries, and which of them a run began creating and did not settle. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '../../../src/sync/registry';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'iam-ssh-registry-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const file = () => join(dir, 'registry.json');
const ann = { iamName: 'Ann', iamUserId: 'AIDAANN', uid: 3000 };

test('an account begun and not settled is still being created for the next run that reads the file', () => {
  const r = new Registry(dir);
  r.begin('ann', ann);
  r.begin('ben', { ...ann, iamName: 'Ben', uid: null });
  expect(new Registry(dir).creating()).toEqual(['ann', 'ben']);
  expect(new Registry(dir).all()).toEqual({ ann, ben: { ...ann, iamName: 'Ben', uid: null } });
  r.settle(['ann']);
  expect(new Registry(dir).creating()).toEqual(['ben']);
  r.delete('ben');
  const again = new Registry(dir);
  expect(again.creating()).toEqual([]);
  expect(Object.keys(again.all())).toEqual(['ann']);
  expect(JSON.parse(readFileSync(file(), 'utf8'))).toEqual({ version: 1, users: { ann } });
});

test('settling nothing new writes nothing', () => {
  const r = new Registry(dir);
  r.set('ann', ann);
  writeFileSync(file(), JSON.stringify({ version: 1, users: {} }));
  r.settle(['ann', 'zed']);
  expect(JSON.parse(readFileSync(file(), 'utf8'))).toEqual({ version: 1, users: {} });
});

test('a file of an older version (no creating list) reads as nothing being created', () => {
  writeFileSync(file(), JSON.stringify({ version: 1, users: { ann } }));
  expect(new Registry(dir).creating()).toEqual([]);
});

test.each([
  ['not a list', { creating: 'ann' }],
  ['names without an entry, or not names', { creating: ['zed', 7, null, '__proto__'] }],
])('a creating list that is %s counts nothing as being created', (_why, extra) => {
  writeFileSync(file(), JSON.stringify({ version: 1, users: { ann }, ...extra }));
  expect(new Registry(dir).creating()).toEqual([]);
});

test('a name such as constructor is no entry unless written', () => {
  const r = new Registry(dir);
  r.delete('constructor');
  expect(() => new Registry(dir)).not.toThrow();
  expect(new Registry(dir).all()).toEqual({});
});

describe("aws-ec2-ssh's accounts, adopted", () => {
  const alice = { iamName: 'Alice.Smith', iamUserId: 'AIDAALICE', uid: 1001, adopted: true as const };

  test('an adopted entry keeps its case-kept name and its adopted mark across a reload', () => {
    new Registry(dir).set('Alice.Smith', alice);
    new Registry(dir).set('bob', { iamName: 'bob', iamUserId: 'AIDABOB', uid: 1002, adopted: true });
    expect(new Registry(dir).all()).toEqual({ 'Alice.Smith': alice, bob: { iamName: 'bob', iamUserId: 'AIDABOB', uid: 1002, adopted: true } });
  });

  test.each([
    ['a name iam-ssh would never make, without the adopted mark', { 'Alice.Smith': { ...alice, adopted: undefined } }],
    ['an adopted mark that is not exactly true', { 'Alice.Smith': { ...alice, adopted: 'yes' }, bob: { ...alice, adopted: 1 } }],
    ['an adopted entry without a UID', { 'Alice.Smith': { ...alice, uid: null }, bob: { ...alice, uid: null } }],
    ['an adopted name aws-ec2-ssh could not have made', { '-Alice': alice, '..': alice, '1234': alice, 'Root': alice, 'Al ice': alice }],
  ])('%s is no entry', (_why, users) => {
    writeFileSync(file(), JSON.stringify({ version: 1, users: { ann, ...users } }));
    expect(new Registry(dir).all()).toEqual({ ann });
  });
});
