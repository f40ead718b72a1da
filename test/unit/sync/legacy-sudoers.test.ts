/**
 * aws-ec2-ssh's per-user sudoers files on disk (a temporary directory standing in for
 * /etc/sudoers.d): what is read, and when a file is removed or kept.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLegacySudoers, removeLegacySudoers, type SudoGrantCheck } from '../../../src/sync/legacy-sudoers';
import type { Exec } from '../../../src/platform/exec';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'iam-ssh-sudoers-d-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const rule = (user: string) => `${user} ALL=(ALL) NOPASSWD:ALL\n`;
const DROP_IN = '# Managed by iam-ssh sync\n%iam-ssh-sudo ALL=(ALL) NOPASSWD:ALL\n';

function setup(opts: { member?: boolean; dropIn?: string | null; visudo?: number } = {}) {
  const calls: string[][] = [];
  const run: Exec = async (file, args) => {
    calls.push([file, ...args]);
    return { exitCode: opts.visudo ?? 0, stdout: '', stderr: opts.visudo ? '/etc/sudoers.d/zz:1:9: syntax error' : '' };
  };
  const check: SudoGrantCheck = { isMember: async () => opts.member ?? true, dropIn: () => (opts.dropIn === undefined ? DROP_IN : opts.dropIn) };
  const remove = (user: string, grant: string | null, content = rule(user)) => removeLegacySudoers(user, join(dir, user.replace(/\./g, ' ')), content, grant, check, run, dir);
  return { calls, remove, check, run };
}

describe('readLegacySudoers', () => {
  test('reads the files sudo reads: not dotted names, not ~ backups, not links, not large files', () => {
    writeFileSync(join(dir, 'Alice Smith'), rule('Alice.Smith'));
    writeFileSync(join(dir, 'bob'), rule('bob'));
    writeFileSync(join(dir, 'Alice.Smith'), rule('Alice.Smith'));
    writeFileSync(join(dir, 'carol~'), rule('carol'));
    writeFileSync(join(dir, 'big'), 'x'.repeat(5000));
    symlinkSync(join(dir, 'bob'), join(dir, 'linked'));
    mkdirSync(join(dir, 'sub'));
    expect(readLegacySudoers(dir)).toEqual({ 'Alice Smith': rule('Alice.Smith'), bob: rule('bob') });
  });

  test('a directory that is not there reads as no file', () => {
    expect(readLegacySudoers(join(dir, 'missing'))).toEqual({});
  });
});

describe('removeLegacySudoers', () => {
  test("removes the file once the user is in the group, the drop-in names it and the whole configuration parses", async () => {
    writeFileSync(join(dir, 'Alice Smith'), rule('Alice.Smith'));
    const { calls, remove } = setup();
    await remove('Alice.Smith', 'iam-ssh-sudo');
    expect(existsSync(join(dir, 'Alice Smith'))).toBe(false);
    // not plain `visudo -c`: its mode check fails on aws-ec2-ssh's own 0644 files
    expect(calls).toEqual([['visudo', '-c', '-q', '-f', '/etc/sudoers']]);
  });

  test('without a grant (the user loses sudo) only the configuration is checked', async () => {
    writeFileSync(join(dir, 'bob'), rule('bob'));
    await setup({ member: false, dropIn: null }).remove('bob', null);
    expect(existsSync(join(dir, 'bob'))).toBe(false);
  });

  test.each<[string, Parameters<typeof setup>[0], RegExp]>([
    ['the user is not in the group', { member: false }, /is kept: Alice\.Smith is not a member of iam-ssh-sudo/],
    ['the drop-in is missing', { dropIn: null }, /is kept: iam-ssh's sudoers drop-in does not grant iam-ssh-sudo/],
    ['the drop-in names another group', { dropIn: '%admins ALL=(ALL) ALL\n' }, /does not grant iam-ssh-sudo/],
    ['the configuration does not parse', { visudo: 1 }, /is kept: the sudoers configuration does not check: .*syntax error/],
  ])('kept when %s', async (_w, opts, message) => {
    writeFileSync(join(dir, 'Alice Smith'), rule('Alice.Smith'));
    await expect(setup(opts).remove('Alice.Smith', 'iam-ssh-sudo')).rejects.toThrow(message);
    expect(readFileSync(join(dir, 'Alice Smith'), 'utf8')).toBe(rule('Alice.Smith'));
  });

  test('kept when it changed since the plan, or is no longer a regular file', async () => {
    writeFileSync(join(dir, 'bob'), 'bob ALL=(ALL) ALL\n');
    await expect(setup().remove('bob', null)).rejects.toThrow(/changed since the plan; kept/);
    expect(existsSync(join(dir, 'bob'))).toBe(true);
    rmSync(join(dir, 'bob'));
    writeFileSync(join(dir, 'target'), rule('bob'));
    symlinkSync(join(dir, 'target'), join(dir, 'bob'));
    await expect(setup().remove('bob', null)).rejects.toThrow(/not a regular file/);
    expect(existsSync(join(dir, 'target'))).toBe(true);
  });

  test('a file already gone is fine', async () => {
    await expect(setup().remove('bob', null)).resolves.toBeUndefined();
  });

  test.each<[string, string, string]>([
    ['another file name', 'bob', join('..', 'bob')],
    ['a name with a dot (sudo never reads it)', 'Alice.Smith', 'Alice.Smith'],
  ])('refuses %s than aws-ec2-ssh gives the user', async (_w, user, name) => {
    writeFileSync(join(dir, name.replace('../', '')), rule(user));
    const { calls, check, run } = setup();
    await expect(removeLegacySudoers(user, join(dir, name), rule(user), null, check, run, dir)).rejects.toThrow(/is not aws-ec2-ssh's file of/);
    expect(calls).toEqual([]);
    expect(existsSync(join(dir, name.replace('../', '')))).toBe(true);
  });

  test("refuses content that is not aws-ec2-ssh's rule for that user", async () => {
    writeFileSync(join(dir, 'bob'), rule('alice'));
    await expect(setup().remove('bob', null, rule('alice'))).rejects.toThrow(/is not aws-ec2-ssh's file of bob/);
    expect(existsSync(join(dir, 'bob'))).toBe(true);
  });
});
