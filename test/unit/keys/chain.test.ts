/**
 * KEYS_CHAIN_COMMAND: the setting's syntax, where it may come from, and the runner that `keys`
 * starts beside the IAM lookup (real processes; the ownership check of the program is tested
 * with fake stats, since a test's temporary directory is never root-owned all the way up).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from '../../../src/config/values';
import { buildLayered, fileLayer, ssmLayer } from '../../../src/config/layers';
import { parseConfigText } from '../../../src/config/parse';
import { applySettings } from '../../../src/install/config-file';
import { chainArgv, chainedLines, startChain, unsafeChainProgram, type ChainStat } from '../../../src/keys/chain';
import type { Level } from '../../../src/util/log';
import { generateSshKey } from '../../helpers/ssh-wire';

const EIC = '/opt/aws/bin/eic_run_authorized_keys';
const FP = 'SHA256:' + 'A'.repeat(43);

describe('KEYS_CHAIN_COMMAND values', () => {
  test.each([
    [`${EIC} %u %f`, { program: EIC, args: ['%u', '%f'] }],
    [`  ${EIC}   %u\t%f `, { program: EIC, args: ['%u', '%f'] }],
    ['/usr/share/ec2-instance-connect/eic_run_authorized_keys --user=%u --fp=%f 100%%', { program: '/usr/share/ec2-instance-connect/eic_run_authorized_keys', args: ['--user=%u', '--fp=%f', '100%%'] }],
    ['/usr/bin/sss_ssh_authorizedkeys %u', { program: '/usr/bin/sss_ssh_authorizedkeys', args: ['%u'] }],
    ['/bin/true', { program: '/bin/true', args: [] }],
  ])('%j is read', (text, want) => {
    expect(v.chainCommand(text)).toEqual(want);
    expect(v.chainCommand(v.formatChainCommand(want))).toEqual(want);
  });

  test.each(['', '   '])('%j means no chain', (text) => expect(v.chainCommand(text)).toBeNull());

  test.each([
    ['eic_run_authorized_keys %u %f', /absolute path/],
    ['./eic %u', /absolute path/],
    ['/opt/aws/../../bin/sh -c id', /absolute path/],
    ['/opt/aws/./bin/x', /absolute path/],
    ['/opt/aws/bin/', /absolute path/],
    ['/opt/$(id)/x', /absolute path/],
    ['/opt/aws/bin/x;id', /absolute path/],
    [`${EIC} %u %k`, /%k is not a token/],
    [`${EIC} %h`, /%h is not a token/],
    [`${EIC} 100%`, /% at the end/],
    [`${EIC} %u\n/bin/sh`, /control character/],
    [`${EIC} \x1b[2J`, /control character/],
    [`${EIC} ${'a'.repeat(300)}`, /longer than/],
    [`${EIC} ${'a '.repeat(40)}`, /more than 32/],
  ])('%j is refused', (text, message) => {
    expect(() => v.chainCommand(text)).toThrow(message);
  });

  test('install writes it so that the file reads it back (quoted, spaces kept)', () => {
    const text = applySettings('', [['KEYS_CHAIN_COMMAND', `${EIC} %u %f`]], '/etc/iam-ssh.conf');
    expect(text).toContain(`KEYS_CHAIN_COMMAND='${EIC} %u %f'\n`);
    const { config } = buildLayered([fileLayer('/etc/iam-ssh.conf', parseConfigText(text, '/etc/iam-ssh.conf'))]);
    expect(config.keysChainCommand).toEqual({ program: EIC, args: ['%u', '%f'] });
  });

  test('the local file only: an SSM parameter is ignored with a warning, since it names a program run at every login', () => {
    const file = fileLayer('/etc/iam-ssh.conf', parseConfigText('IAM_AUTHORIZED_GROUPS=ssh\n', '/etc/iam-ssh.conf'));
    const ssm = ssmLayer('/iam-ssh/', [{ name: '/iam-ssh/KEYS_CHAIN_COMMAND', value: '/bin/sh -c id', type: 'String' }]).layer;
    const { config, warnings } = buildLayered([file, ssm]);
    expect(config.keysChainCommand).toBeNull();
    expect(warnings.join('\n')).toMatch(/KEYS_CHAIN_COMMAND can only be set in the local config file; ignored/);
  });

  test('a bad value in the file names its line', () => {
    expect(() => buildLayered([fileLayer('/etc/iam-ssh.conf', parseConfigText("KEYS_CHAIN_COMMAND='bin/eic %u'\n", '/etc/iam-ssh.conf'))])).toThrow(
      /\/etc\/iam-ssh.conf:1: KEYS_CHAIN_COMMAND: "bin\/eic" is not an absolute path/,
    );
  });
});

describe('chainArgv', () => {
  const cmd = { program: EIC, args: ['%u', '%f', '--who=%u', '100%%', 'x%%u'] };
  test('%u and %f become what sshd passed, %% a percent sign; nothing else changes', () => {
    expect(chainArgv(cmd, 'ec2-user', FP)).toEqual(['ec2-user', FP, '--who=ec2-user', '100%', 'x%u']);
  });
  test('no fingerprint, or one that is not a fingerprint, becomes an empty argument', () => {
    expect(chainArgv(cmd, 'ec2-user', undefined)).toEqual(['ec2-user', '', '--who=ec2-user', '100%', 'x%u']);
    expect(chainArgv(cmd, 'ec2-user', '--help')).toEqual(['ec2-user', '', '--who=ec2-user', '100%', 'x%u']);
    expect(chainArgv(cmd, 'ec2-user', 'MD5:' + 'ab:'.repeat(15) + 'ab')).toEqual(['ec2-user', 'MD5:' + 'ab:'.repeat(15) + 'ab', '--who=ec2-user', '100%', 'x%u']);
  });
  test.each(['-oProxyCommand=x', '', 'a b', 'a\nb', 'x'.repeat(65), '../etc', 'ec2-user\0'])('a user name like %j is not passed on', (user) => {
    expect(chainArgv(cmd, user, FP)).toBeNull();
  });
});

describe('chainedLines', () => {
  test('whole lines only; a last line without a newline counts when the output was complete; blank lines dropped', () => {
    expect(chainedLines(Buffer.from('a\n\nb\r\nc'), false)).toEqual(['a\n', 'b\r\n', 'c\n']);
    expect(chainedLines(Buffer.from('a\nb\nc'), true)).toEqual(['a\n', 'b\n']);
    expect(chainedLines(Buffer.from(''), false)).toEqual([]);
    expect(chainedLines(Buffer.from('partial'), true)).toEqual([]);
  });
});

describe('unsafeChainProgram: sshd\'s rule for AuthorizedKeysCommand', () => {
  const dir = (uid = 0, mode = 0o755): ChainStat => ({ uid, mode, isFile: false, isDirectory: true });
  const file = (uid = 0, mode = 0o755): ChainStat => ({ uid, mode, isFile: true, isDirectory: false });
  const fsOf = (stats: Record<string, ChainStat>, links: Record<string, string> = {}) => ({
    realpath: (p: string) => {
      const r = links[p] ?? p;
      if (!stats[r]) throw Object.assign(new Error(`ENOENT: ${r}`), { code: 'ENOENT' });
      return r;
    },
    stat: (p: string) => stats[p]!,
  });
  const good = { '/': dir(), '/opt': dir(), '/opt/aws': dir(), '/opt/aws/bin': dir(), [EIC]: file() };

  test('root-owned, not group- or world-writable, all the way up: safe', () => {
    expect(unsafeChainProgram(EIC, fsOf(good))).toBeNull();
  });
  test.each([
    [EIC, file(1000), /owned by uid 1000/],
    [EIC, file(0, 0o775), /writable by its group/],
    [EIC, file(0, 0o757), /writable by everyone/],
    ['/opt/aws', dir(0, 0o777), /\/opt\/aws .*writable by everyone/],
    ['/opt', dir(1000), /\/opt is owned by uid 1000/],
    ['/', dir(0, 0o1777), /\/ .*writable/],
    [EIC, dir(), /not a regular file/],
    [EIC, file(0, 0o644), /not executable/],
  ])('%s %j is refused', (path, st, message) => {
    expect(unsafeChainProgram(EIC, fsOf({ ...good, [path]: st }))).toMatch(message);
  });
  test('a symlink is judged by its target and the target\'s directories, as sshd does', () => {
    const fs = fsOf({ ...good, '/tmp': dir(0, 0o1777), '/tmp/eic': file() }, { [EIC]: '/tmp/eic' });
    expect(unsafeChainProgram(EIC, fs)).toMatch(/\/tmp .*writable by everyone/);
  });
  test('a missing program is named', () => {
    const { [EIC]: _gone, ...rest } = good;
    expect(unsafeChainProgram(EIC, fsOf(rest))).toMatch(/cannot be resolved: ENOENT/);
  });
  test('this executable itself is refused: keys would call itself at every login', () => {
    expect(unsafeChainProgram(EIC, fsOf(good), EIC)).toMatch(/is iam-ssh itself/);
  });
});

describe('startChain runs the program without a shell, within its deadline', () => {
  let dir: string;
  let events: { level: Level; event: string; fields: Record<string, unknown> }[];
  const log = { log: (level: Level, event: string, fields: Record<string, unknown> = {}) => void events.push({ level, event, fields }) };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'iam-ssh-chain-'));
    events = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  /** Runs to the end and returns what keys would print. */
  const runIt = async (program: string, args: string[], opts: { user?: string; untilMs?: number; maxBytes?: number; unsafe?: string | null } = {}) => {
    const printed: string[] = [];
    const started = Date.now();
    const run = startChain({ program, args }, {
      user: opts.user ?? 'ec2-user', fingerprint: FP, until: started + (opts.untilMs ?? 5000), log,
      check: () => opts.unsafe ?? null, maxBytes: opts.maxBytes,
    });
    await run?.finish((t) => printed.push(t.toString('latin1')));
    return { started, run, printed: printed.join(''), chained: events.find((e) => e.event === 'keys.chained') };
  };

  test('argv reaches the program as given, shell characters and all; its lines are printed and logged with fingerprints', async () => {
    const key = generateSshKey('ed25519', 'eic@test');
    const p = script('eic', `printf '%s\\n' "$@" > "${dir}/argv"; echo '${key.line}'; echo 'not a key line'`);
    const r = await runIt(p, ['%u', '%f', '$(touch pwned);`id`']);
    expect(r.printed).toBe(`${key.line}\nnot a key line\n`);
    expect(require('node:fs').readFileSync(join(dir, 'argv'), 'utf8')).toBe(`ec2-user\n${FP}\n$(touch pwned);\`id\`\n`);
    expect(r.chained?.level).toBe('info');
    expect(r.chained?.fields).toMatchObject({ user: 'ec2-user', command: `${p} %u %f $(touch pwned);\`id\``, exitCode: 0, lines: 2, fingerprints: [key.fingerprint] });
  });

  test('a non-zero exit prints nothing, as sshd would discard it; stderr is logged, not printed', async () => {
    const r = await runIt(script('eic', "echo 'ssh-ed25519 AAAA x'; echo oops >&2; exit 3"), []);
    expect(r.printed).toBe('');
    expect(r.chained?.level).toBe('warn');
    expect(r.chained?.fields).toMatchObject({ exitCode: 3, lines: 0, printed: false, stderr: 'oops' });
  });

  test('a command still running at its deadline is killed with everything it started, and prints nothing', async () => {
    const r = await runIt(script('slow', `echo 'ssh-ed25519 AAAA early'; sleep 30 & sleep 30; echo late`), [], { untilMs: 400 });
    expect(Date.now() - r.started).toBeLessThan(2000);
    expect(r.printed).toBe('');
    expect(r.chained?.fields).toMatchObject({ timedOut: true, printed: false });
    const ps = require('node:child_process').execFileSync('ps', ['-eo', 'args']).toString();
    expect(ps).not.toMatch(new RegExp(`${dir}/slow`));
  });

  test('output past the bound is cut at the last whole line and the cut is logged', async () => {
    const r = await runIt(script('big', 'i=0; while [ $i -lt 2000 ]; do echo "line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done'), [], { maxBytes: 1000 });
    const lines = r.printed.split('\n').slice(0, -1);
    expect(r.printed.length).toBeLessThanOrEqual(1000);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.every((l, i) => l === `line-${i}-${'x'.repeat(32)}`)).toBe(true);
    expect(r.chained?.fields).toMatchObject({ exitCode: 0, truncated: true, lines: lines.length });
  });

  test('an unsafe program is never started', async () => {
    const p = script('eic', `touch "${dir}/ran"`);
    const r = await runIt(p, [], { unsafe: `${p} is owned by uid 1000, not root` });
    expect(r.run).toBeNull();
    expect(require('node:fs').existsSync(join(dir, 'ran'))).toBe(false);
    expect(events).toEqual([expect.objectContaining({ level: 'error', event: 'keys.chain_refused', fields: expect.objectContaining({ reason: `${p} is owned by uid 1000, not root` }) })]);
  });

  test('a user name that could pass for an option is never passed on', async () => {
    const p = script('eic', `touch "${dir}/ran"`);
    const r = await runIt(p, ['%u'], { user: '-oProxyCommand=x' });
    expect(r.run).toBeNull();
    expect(events[0]).toMatchObject({ event: 'keys.chain_refused', fields: { reason: 'the user name is not one to pass to another program' } });
  });

  test('a program that cannot start is logged and prints nothing', async () => {
    const r = await runIt(join(dir, 'missing'), []);
    expect(r.printed).toBe('');
    expect(r.chained?.fields).toMatchObject({ printed: false, error: expect.stringMatching(/ENOENT/) });
  });

  test('the program gets a fixed PATH, no inherited environment, and the marker that stops a chain from chaining again', async () => {
    process.env.AWS_SECRET_ACCESS_KEY_TEST_LEAK = 'leak';
    try {
      const r = await runIt(script('env', 'env | sort'), []);
      expect(r.printed).toMatch(/^IAM_SSH_CHAINED=1$/m);
      expect(r.printed).toMatch(/^PATH=\/usr\/local\/sbin:/m);
      expect(r.printed).not.toMatch(/LEAK/);
    } finally {
      delete process.env.AWS_SECRET_ACCESS_KEY_TEST_LEAK;
    }
  });
});
