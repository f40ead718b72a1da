/**
 * Whether a home holds only useradd's copy of the skeleton, whole or cut short by a kill. Only an
 * unfinished copy may be removed and made again, so every other content must read as `other`.
 */
import { chownSync, lchownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skeletonCopy } from '../../../src/sync/home-skeleton';

const ME = process.getuid!();
// As root, files the copy has not yet given to the account are root's; the account is uid 4242.
const ACCOUNT = ME === 0 ? 4242 : ME;
let dir: string;
let skel: string;
let home: string;
const put = (base: string, rel: string, content: string, owner = ACCOUNT) => {
  writeFileSync(join(base, rel), content);
  if (ME === 0) chownSync(join(base, rel), owner, owner);
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iam-ssh-skel-'));
  skel = join(dir, 'skel');
  home = join(dir, 'home');
  mkdirSync(join(skel, '.config'), { recursive: true });
  writeFileSync(join(skel, '.bashrc'), 'alias ll="ls -l"\n'.repeat(20));
  writeFileSync(join(skel, '.profile'), 'umask 022\n');
  writeFileSync(join(skel, '.config', 'app'), 'x=1\n');
  symlinkSync('.bashrc', join(skel, '.shrc'));
  mkdirSync(home);
  if (ME === 0) chownSync(home, ACCOUNT, ACCOUNT);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const wholeCopy = () => {
  mkdirSync(join(home, '.config'));
  if (ME === 0) chownSync(join(home, '.config'), ACCOUNT, ACCOUNT);
  put(home, '.bashrc', 'alias ll="ls -l"\n'.repeat(20));
  put(home, '.profile', 'umask 022\n');
  put(home, '.config/app', 'x=1\n');
  symlinkSync('.bashrc', join(home, '.shrc'));
  if (ME === 0) lchownSync(join(home, ".shrc"), ACCOUNT, ACCOUNT);
};

test('a whole copy', () => {
  wholeCopy();
  expect(skeletonCopy(home, skel, ACCOUNT)).toBe('whole');
});

test('files not yet copied, or one cut short, make an unfinished copy', () => {
  put(home, '.bashrc', 'alias ll="ls -l"\n'.repeat(3));
  expect(skeletonCopy(home, skel, ACCOUNT)).toBe('unfinished');
  rmSync(join(home, '.bashrc'));
  expect(skeletonCopy(home, skel, ACCOUNT)).toBe('unfinished');
});

(ME === 0 ? test : test.skip)('as root: a file, or the home itself, still root\'s is unfinished', () => {
  wholeCopy();
  put(home, '.profile', '', 0);
  expect(skeletonCopy(home, skel, ACCOUNT)).toBe('unfinished');
  put(home, '.profile', 'umask 022\n');
  chownSync(home, 0, 0);
  expect(skeletonCopy(home, skel, ACCOUNT)).toBe('unfinished');
});

test.each([
  ['a file the skeleton does not have', () => put(home, 'notes.txt', 'mine\n')],
  ['a skeleton file with other content', () => put(home, '.profile', 'umask 077\n')],
  ['a skeleton file grown longer', () => put(home, '.profile', 'umask 022\nexport X=1\n')],
  ['a directory where the skeleton has a file', () => mkdirSync(join(home, '.profile'))],
  ['a link to somewhere else', () => symlinkSync('/etc/passwd', join(home, '.shrc'))],
])('%s is the account\'s own: other', (_why, change) => {
  change();
  expect(skeletonCopy(home, skel, ACCOUNT)).toBe('other');
});

(ME === 0 ? test : test.skip)('as root: a home or a file of a third account is other', () => {
  wholeCopy();
  chownSync(join(home, '.profile'), 777, 777);
  expect(skeletonCopy(home, skel, ACCOUNT)).toBe('other');
  chownSync(join(home, '.profile'), ACCOUNT, ACCOUNT);
  chownSync(home, 777, 777);
  expect(skeletonCopy(home, skel, ACCOUNT)).toBe('other');
});

test('not a directory, or not there, is other; a missing skeleton leaves only an empty home a copy', () => {
  expect(skeletonCopy(join(dir, 'nothing'), skel, ACCOUNT)).toBe('other');
  writeFileSync(join(dir, 'file'), '');
  expect(skeletonCopy(join(dir, 'file'), skel, ACCOUNT)).toBe('other');
  expect(skeletonCopy(home, join(dir, 'no-skel'), ACCOUNT)).toBe('whole');
  put(home, '.bashrc', 'x');
  expect(skeletonCopy(home, join(dir, 'no-skel'), ACCOUNT)).toBe('other');
});
