import fc from 'fast-check';
import { readUseraddArgs } from '../../../src/sync/useradd-args';

describe('readUseraddArgs', () => {
  test('the default USERADD_ARGS: a private group, a home, --user-group left to sync', () => {
    expect(readUseraddArgs(['--user-group', '--create-home', '--shell', '/bin/bash'])).toEqual({
      args: ['--create-home', '--shell', '/bin/bash'], privateGroup: true, createsHome: true, skel: null,
    });
  });

  test.each([
    [['-U', '-m'], ['-m'], true, true],
    [['-mU', '-s', '/bin/sh'], ['-m', '-s', '/bin/sh'], true, true],
    [['-Um'], ['-m'], true, true],
    [['-U'], [], true, null],
    [['--shell', '/bin/zsh'], ['--shell', '/bin/zsh'], true, null],
    [['-M'], ['-M'], true, false],
    [['-m', '--no-create-home'], ['-m', '--no-create-home'], true, false],
    [['--no-create-home', '-m'], ['--no-create-home', '-m'], true, true],
  ])('%j -> args %j, private group %s, home %s', (given, args, privateGroup, createsHome) => {
    expect(readUseraddArgs(given)).toEqual({ args, privateGroup, createsHome, skel: null });
  });

  test.each([
    [['--no-user-group', '-m']],
    [['-N']],
    [['-mN']],
    [['--gid', 'users', '--user-group']],
    [['--gid=users']],
    [['-g', '100']],
    [['-gusers']],
    [['-mgusers']],
  ])('%j: no private group, and the arguments go to useradd unchanged', (given) => {
    const r = readUseraddArgs(given);
    expect(r.privateGroup).toBe(false);
    expect(r.args).toEqual(given);
  });

  test('an option value that looks like a flag is a value, not a flag', () => {
    expect(readUseraddArgs(['--comment', '-U', '--shell', '-N'])).toEqual({ args: ['--comment', '-U', '--shell', '-N'], privateGroup: true, createsHome: null, skel: null });
    expect(readUseraddArgs(['-c', '-g', '-k', '-M'])).toEqual({ args: ['-c', '-g', '-k', '-M'], privateGroup: true, createsHome: null, skel: '-M' });
    expect(readUseraddArgs(['-sU'])).toEqual({ args: ['-sU'], privateGroup: true, createsHome: null, skel: null });
    expect(readUseraddArgs(['--key=UMASK=077', '-U'])).toEqual({ args: ['--key=UMASK=077'], privateGroup: true, createsHome: null, skel: null });
  });

  test('an option missing its value at the end is passed on for useradd to reject', () => {
    expect(readUseraddArgs(['-m', '--shell'])).toEqual({ args: ['-m', '--shell'], privateGroup: true, createsHome: true, skel: null });
    expect(readUseraddArgs(['-s'])).toEqual({ args: ['-s'], privateGroup: true, createsHome: null, skel: null });
    expect(readUseraddArgs(['-m', '--skel'])).toMatchObject({ skel: null });
    expect(readUseraddArgs(['-mk'])).toMatchObject({ skel: null });
  });

  test.each([
    [['-m', '--skel', '/etc/skel.iam'], '/etc/skel.iam'],
    [['-m', '--skel=/etc/skel.iam'], '/etc/skel.iam'],
    [['-m', '-k', '/etc/skel.iam'], '/etc/skel.iam'],
    [['-mk/etc/skel.iam'], '/etc/skel.iam'],
    [['-k', '/a', '-k', '/b'], '/b'],
  ])('the skeleton directory of %j is %s', (given, skel) => {
    expect(readUseraddArgs(given).skel).toBe(skel);
  });

  test('property: only -U/--user-group are ever removed, and only when sync makes the private group', () => {
    const token = fc.oneof(fc.constantFrom('-U', '--user-group', '-N', '-m', '-M', '-g', '-mU', '--shell', '/bin/sh', '-s', 'x', '--', '-'), fc.string());
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), (given) => {
        const r = readUseraddArgs(given);
        if (!r.privateGroup) expect(r.args).toEqual(given);
        const strip = (a: string[]) => a.filter((t) => t !== '-U' && t !== '--user-group').join('\u0000').replace(/U/g, '');
        expect(strip(r.args)).toBe(strip(given));
      }),
    );
  });
});
