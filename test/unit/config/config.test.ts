import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaults, type BuildResult } from '../../../src/config/config';
import { buildConfig } from '../../../src/config/layers';
import { parseConfigText, ConfigError } from '../../../src/config/parse';
import { loadConfig } from '../../../src/config/load';
import * as v from '../../../src/config/values';

const FILE = 'iam-ssh.conf';
const build = (text: string): BuildResult => buildConfig(FILE, parseConfigText(text, FILE));

/** The ConfigError that building throws; fails the test when it does not throw one. */
function buildError(text: string): ConfigError {
  try {
    build(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`built without error: ${JSON.stringify(text)}`);
}

describe('values', () => {
  test.each([
    ['60', 60_000],
    ['0', 0],
    ['90s', 90_000],
    ['500ms', 500],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['1d', 86_400_000],
    [' 7s ', 7_000],
  ])('duration %j = %d ms', (s, ms) => {
    expect(v.duration(s)).toBe(ms);
  });

  test.each(['5x', '', 's', '-5', '1.5s', '5 s', '5S', '5sec', '1e3', '0x10'])('duration %j is rejected', (s) => {
    expect(() => v.duration(s)).toThrow(/is not a duration/);
  });

  test('list and iamGroups trim spaces and drop empty items', () => {
    expect(v.list(' a , b,,c ,')).toEqual(['a', 'b', 'c']);
    expect(v.iamGroups(' admins , ops-team,  dev@corp ')).toEqual(['admins', 'ops-team', 'dev@corp']);
    expect(v.iamGroups('')).toEqual([]);
  });

  test.each(['a b', 'bad/group', 'bad!', 'x'.repeat(129), 'grüppe'])('iamGroups rejects %j', (g) => {
    expect(() => v.iamGroups(`ok,${g}`)).toThrow(`"${g}" is not a valid IAM group name`);
  });

  test('region', () => {
    for (const r of ['us-east-1', 'eu-central-2', 'us-gov-west-1', 'ap-southeast-4']) expect(v.region(r)).toBe(r);
    for (const r of ['US-EAST-1', 'useast1', 'us-east', 'us-east-1a', '', 'us_east_1', 'us-east-1 ']) {
      expect(() => v.region(r)).toThrow(/is not an AWS region/);
    }
  });

  test('url', () => {
    expect(v.url('http://127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(v.url('https://iam.amazonaws.com/')).toBe('https://iam.amazonaws.com');
    expect(() => v.url('not a url')).toThrow(/is not a URL/);
    expect(() => v.url('iam.amazonaws.com')).toThrow(/is not a URL/);
    expect(() => v.url('ftp://example.com')).toThrow(/is not an http\(s\) URL/);
    expect(() => v.url('file:///etc/passwd')).toThrow(/is not an http\(s\) URL/);
  });

  test('absolutePath', () => {
    expect(v.absolutePath('/var/lib/iam-ssh/')).toBe('/var/lib/iam-ssh');
    expect(v.absolutePath('/')).toBe('/');
    expect(v.absolutePath('//')).toBe('/');
    for (const p of ['var/lib', './x', '', '/a/../b', '/a/..', '../x', '/a\0b']) {
      expect(() => v.absolutePath(p)).toThrow(/is not an absolute path/);
    }
    expect(v.absolutePath('/a/..b')).toBe('/a/..b');
  });

  test('roleArn', () => {
    expect(v.roleArn('arn:aws:iam::123456789012:role/ssh-reader')).toBe('arn:aws:iam::123456789012:role/ssh-reader');
    expect(v.roleArn('arn:aws-us-gov:iam::123456789012:role/path/r')).toBe('arn:aws-us-gov:iam::123456789012:role/path/r');
    expect(() => v.roleArn('ssh-reader')).toThrow(/is not an IAM role ARN/);
    expect(() => v.roleArn('arn:aws:iam::1234:role/x')).toThrow(/is not an IAM role ARN/);
  });

  test('integer and bool', () => {
    expect(v.integer(1, 10)(' 5 ')).toBe(5);
    expect(() => v.integer(1, 10)('11')).toThrow('11 is outside 1..10');
    expect(() => v.integer(1, 10)('x')).toThrow(/is not a whole number/);
    expect(['1', 'YES', 'true', 'on'].map(v.bool)).toEqual([true, true, true, true]);
    expect(['0', 'no', 'False', 'off', ''].map(v.bool)).toEqual([false, false, false, false, false]);
    expect(() => v.bool('maybe')).toThrow(/is not yes\/no/);
  });
});

describe('buildConfig', () => {
  test('no entries gives the defaults, with the file recorded', () => {
    const { config, warnings } = buildConfig(FILE, []);
    expect(config).toEqual({ ...defaults(), file: FILE });
    expect(warnings).toEqual([]);
    expect(buildConfig(null, []).config.file).toBeNull();
  });

  test('every supported key', () => {
    const { config, warnings } = build(
      [
        'IAM_AUTHORIZED_GROUPS=" admins , ops "',
        'ASSUMEROLE=""',
        'AWS_REGION=eu-west-1',
        'AWS_ENDPOINT_URL=http://127.0.0.1:5000/',
        'STATE_DIR=/srv/state/',
        "CACHE_DIR='/srv/cache'",
        'KEYS_CACHE_TTL=90s',
        'KEYS_MAX_STALE=1d',
        'KEYS_TIMEOUT=3s',
        'IAM_REQUEST_TIMEOUT=500ms',
      ].join('\n'),
    );
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      ...defaults(),
      file: FILE,
      authorizedGroups: ['admins', 'ops'],
      assumeRole: null,
      awsRegion: 'eu-west-1',
      awsEndpointUrl: 'http://127.0.0.1:5000',
      stateDir: '/srv/state',
      cacheDir: '/srv/cache',
      keysCacheTtlMs: 90_000,
      keysMaxStaleMs: 86_400_000,
      keysTimeoutMs: 3_000,
      iamRequestTimeoutMs: 500,
    });
  });

  test('duplicates: the last one wins', () => {
    expect(build('AWS_REGION=eu-west-1\nAWS_REGION=ap-south-1').config.awsRegion).toBe('ap-south-1');
    expect(build('KEYS_CACHE_TTL=5m\nKEYS_CACHE_TTL=60').config.keysCacheTtlMs).toBe(60_000);
  });

  test('an empty AWS_ENDPOINT_URL means none', () => {
    expect(build('AWS_ENDPOINT_URL=').config.awsEndpointUrl).toBeNull();
  });

  test('an unknown key is an error on its line, naming the nearest known key', () => {
    const err = buildError('# c\nIAM_AUTHORIZED_GROUP="ssh-users"\n');
    expect(err.line).toBe(2);
    expect(err.message).toBe(`${FILE}:2: unknown key IAM_AUTHORIZED_GROUP; did you mean IAM_AUTHORIZED_GROUPS?`);
    expect(buildError('AWS_REGION=eu-west-1\nAWS_REIGON=us-west-2').message).toBe(`${FILE}:2: unknown key AWS_REIGON; did you mean AWS_REGION?`);
    expect(buildError('iam_authorized_groups=a').message).toContain('did you mean IAM_AUTHORIZED_GROUPS?');
    expect(buildError('SUDOER_GROUPS=admins').message).toContain('did you mean SUDOERS_GROUPS?');
    expect(buildError('KEYS_TIMOUT=3s').message).toContain('did you mean KEYS_TIMEOUT?');
  });

  test('an unknown key far from every known key is an error without a guess', () => {
    expect(buildError('AWS_REGION=eu-west-1\nFROBNICATE=yes').message).toBe(`${FILE}:2: unknown key FROBNICATE`);
    // names that bash knew but aws-ec2-ssh overwrote or never read are not settings either
    for (const k of ['INSTANCE_ID', 'METADATA_TOKEN', 'HTTPS_PROXY', 'PATH']) expect(buildError(`${k}=x`).message).toMatch(new RegExp(`^${FILE}:1: unknown key ${k}`));
    expect(buildError('constructor=1').message).toMatch(/unknown key constructor/);
    expect(buildError('__proto__=1').message).toMatch(/unknown key __proto__/);
  });

  test("aws-ec2-ssh's keys are accepted without a warning", () => {
    const legacy = [
      'IAM_AUTHORIZED_GROUPS="admins"',
      'IAM_AUTHORIZED_GROUPS_TAG=""',
      'LOCAL_MARKER_GROUP="iam-synced-users"',
      'LOCAL_GROUPS=""',
      'SUDOERS_GROUPS="admins"',
      'SUDOERS_GROUPS_TAG=""',
      'ASSUMEROLE=""',
      'USERADD_PROGRAM="/usr/sbin/useradd"',
      'USERADD_ARGS="--user-group --create-home --shell /bin/bash"',
      'USERDEL_PROGRAM="/usr/sbin/userdel"',
      'USERDEL_ARGS="--force --remove"',
      'DONOTSYNC=0',
    ].join('\n');
    const { config, warnings } = build(legacy);
    expect(warnings).toEqual([]);
    expect(config.authorizedGroups).toEqual(['admins']);
    expect(config.assumeRole).toBeNull();
  });

  test.each(['--force --remove', '-r', '--remove', '-fr'])("USERDEL_ARGS=%j: --remove is taken out and deletes no home; only REMOVE_HOME does", (args) => {
    const { config } = build(`USERDEL_ARGS="${args}"`);
    expect(config.userdelArgs).not.toContain('--remove');
    expect(config.userdelArgs.some((a) => /^-[a-z]*r/.test(a))).toBe(false);
    expect(config.removeHome).toBe(false);
    expect(config.userdelArgsRemove).toBe(true);
    expect(build(`USERDEL_ARGS="${args}"\nREMOVE_HOME=yes`).config.removeHome).toBe(true);
    expect(build('USERDEL_ARGS="--force"').config.userdelArgsRemove).toBe(false);
  });

  test('ADOPTED_NAMES: keep (default), rename or rename-home; anything else is an error', () => {
    expect(defaults().adoptedNames).toBe('keep');
    for (const v of ['keep', 'rename', 'rename-home'] as const) expect(build(`ADOPTED_NAMES=${v}`).config.adoptedNames).toBe(v);
    expect(buildError('ADOPTED_NAMES=yes').message).toMatch(/ADOPTED_NAMES/);
  });

  describe("aws-ec2-ssh's deprecated SUDOERSGROUP: the fallback of SUDOERS_GROUPS, as there", () => {
    test('used when SUDOERS_GROUPS is unset or empty, with a deprecation warning', () => {
      for (const text of ['SUDOERSGROUP="admins"', 'SUDOERS_GROUPS=""\nSUDOERSGROUP="admins"', 'SUDOERSGROUP="admins"\nSUDOERS_GROUPS=" "', 'SUDOERS_GROUPS=ops\nSUDOERSGROUP=admins\nSUDOERS_GROUPS=']) {
        const { config, warnings } = build(text);
        expect(config.sudoersGroups).toEqual(['admins']);
        expect(warnings).toEqual([expect.stringMatching(new RegExp(`^${FILE}:\\d: SUDOERSGROUP is deprecated; read as SUDOERS_GROUPS`))]);
      }
      expect(build('SUDOERSGROUP="##ALL##"').config.sudoersGroups).toBe('all');
    });

    test('ignored, with a warning, when SUDOERS_GROUPS is set', () => {
      const { config, warnings } = build('SUDOERSGROUP="admins"\nSUDOERS_GROUPS="ops"');
      expect(config.sudoersGroups).toEqual(['ops']);
      expect(warnings).toEqual([`${FILE}:1: SUDOERSGROUP is deprecated and ignored: SUDOERS_GROUPS is set`]);
    });

    test('a bad value is an error naming SUDOERSGROUP and its line', () => {
      const err = buildError('DONOTSYNC=0\nSUDOERSGROUP="ad mins"');
      expect(err.message).toBe(`${FILE}:2: SUDOERSGROUP: "ad mins" is not a valid IAM group name`);
    });

    test('unset, sudo stays unmanaged', () => {
      expect(build('SUDOERS_GROUPS=""').config.sudoersGroups).toBeNull();
    });
  });

  test('ASSUMEROLE with a role ARN is accepted', () => {
    expect(build('ASSUMEROLE="arn:aws:iam::123456789012:role/ssh-reader"').config.assumeRole).toBe('arn:aws:iam::123456789012:role/ssh-reader');
  });

  test('ASSUMEROLE that is not an ARN is an error on its line', () => {
    const err = buildError('AWS_REGION=us-east-1\nASSUMEROLE=reader');
    expect(err.line).toBe(2);
    expect(err.message).toBe(`${FILE}:2: ASSUMEROLE: "reader" is not an IAM role ARN`);
  });

  test.each([
    ['AWS_REGION=Europe', 'AWS_REGION: "Europe" is not an AWS region'],
    ['AWS_ENDPOINT_URL=localhost:5000', 'AWS_ENDPOINT_URL:'],
    ['AWS_ENDPOINT_URL=ftp://x.example', 'is not an http(s) URL'],
    ['STATE_DIR=var/lib/iam-ssh', 'STATE_DIR: "var/lib/iam-ssh" is not an absolute path'],
    ['CACHE_DIR=./cache', 'CACHE_DIR:'],
    ['IAM_AUTHORIZED_GROUPS="admins, bad/group"', 'IAM_AUTHORIZED_GROUPS: "bad/group" is not a valid IAM group name'],
    ['IAM_AUTHORIZED_GROUPS="admins, two words"', '"two words" is not a valid IAM group name'],
    ['KEYS_CACHE_TTL=5x', 'KEYS_CACHE_TTL: "5x" is not a duration'],
    ['KEYS_TIMEOUT=soon', 'KEYS_TIMEOUT:'],
  ])('%s', (line, message) => {
    const err = buildError(`# first\n${line}\n`);
    expect(err.file).toBe(FILE);
    expect(err.line).toBe(2);
    expect(err.message.startsWith(`${FILE}:2: `)).toBe(true);
    expect(err.message).toContain(message);
  });

  test('KEYS_MAX_STALE shorter than KEYS_CACHE_TTL is rejected', () => {
    const err = buildError('KEYS_CACHE_TTL=10m\nKEYS_MAX_STALE=5m');
    expect(err.message).toContain('KEYS_MAX_STALE must not be shorter than KEYS_CACHE_TTL');
    expect(err.line).toBeNull();
    // equal is allowed
    expect(build('KEYS_CACHE_TTL=10m\nKEYS_MAX_STALE=600').config.keysMaxStaleMs).toBe(600_000);
    // a TTL raised past the default max stale is caught too
    expect(() => build('KEYS_CACHE_TTL=2d')).toThrow(ConfigError);
  });

  describe('every duration and count has bounds, checked on its line', () => {
    test.each([
      ['KEYS_TIMEOUT', '500ms', '30s', ['499ms', '31s'], '500ms..30s'],
      ['IAM_REQUEST_TIMEOUT', '100ms', '60s', ['99ms', '61s'], '100ms..1m'],
      ['NOTIFY_TIMEOUT', '500ms', '30s', ['499ms', '31s'], '500ms..30s'],
      ['KEYS_CACHE_TTL', '0', '1d', ['25h'], '0s..1d'],
      ['KEYS_MAX_STALE', '1h', '7d', ['8d'], '0s..7d'],
    ])('%s: %s..%s', (key, low, high, bad, range) => {
      expect(() => build(`${key}=${low}`)).not.toThrow();
      expect(() => build(`KEYS_MAX_STALE=7d\n${key}=${high}`)).not.toThrow();
      for (const b of [...bad, '2147483648ms', '999999999999999999999d']) {
        const err = buildError(`DONOTSYNC=0\n${key}=${b}`);
        expect(err.line).toBe(2);
        expect(err.message).toBe(`${FILE}:2: ${key}: ${b} is outside ${range}`);
      }
    });

    test('KEYS_TIMEOUT past the range of a Node timer is refused (it would fire at once)', () => {
      expect(buildError('KEYS_TIMEOUT=30d').message).toContain('KEYS_TIMEOUT: 30d is outside 500ms..30s');
    });

    test('0 where it makes no sense', () => {
      for (const key of ['KEYS_TIMEOUT', 'IAM_REQUEST_TIMEOUT', 'NOTIFY_TIMEOUT']) expect(buildError(`${key}=0`).message).toContain(`${key}: 0 is outside`);
    });

    test('MAX_REMOVALS: 0..100000; UID_MIN and UID_MAX inside 1000..2147483647', () => {
      expect(build('MAX_REMOVALS=0').config.maxRemovals).toBe(0);
      expect(build('MAX_REMOVALS=100000').config.maxRemovals).toBe(100_000);
      expect(buildError('MAX_REMOVALS=100001').message).toBe(`${FILE}:1: MAX_REMOVALS: 100001 is outside 0..100000`);
      expect(buildError('MAX_REMOVALS=99999999999999999999').message).toContain('is outside 0..100000');
      expect(buildError('UID_MAX=4294967295').message).toContain('UID_MAX: 4294967295 is outside 1000..2147483647');
      expect(buildError('UID_MIN=0').message).toContain('UID_MIN: 0 is outside 1000..2147483647');
    });
  });

  test('errors without a file name fall back to (config)', () => {
    expect(() => buildConfig(null, [{ key: 'AWS_REGION', value: 'x', line: 3 }])).toThrow('(config):3: AWS_REGION:');
  });

  test('defaults() returns a fresh object each time', () => {
    const a = defaults();
    a.authorizedGroups.push('mutated');
    expect(defaults().authorizedGroups).toEqual([]);
  });
});

describe('loadConfig with an explicit file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iam-ssh-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a missing file is a ConfigError naming it', () => {
    const missing = join(dir, 'nope.conf');
    expect(() => loadConfig(missing)).toThrow(ConfigError);
    expect(() => loadConfig(missing)).toThrow(`${missing}: config file not found`);
  });

  test('reads and builds the file', () => {
    const file = join(dir, 'iam-ssh.conf');
    writeFileSync(file, '# test\nIAM_AUTHORIZED_GROUPS="a, b"\nAWS_REGION=eu-north-1\n');
    const { config, warnings } = loadConfig(file);
    expect(config.file).toBe(file);
    expect(config.authorizedGroups).toEqual(['a', 'b']);
    expect(config.awsRegion).toBe('eu-north-1');
    expect(warnings).toEqual([]);
  });

  test('an unknown key names the explicit file and line', () => {
    const file = join(dir, 'typo.conf');
    writeFileSync(file, '# test\nIAM_AUTHORIZED_GROUP="ssh-users"\n');
    expect(() => loadConfig(file)).toThrow(`${file}:2: unknown key IAM_AUTHORIZED_GROUP; did you mean IAM_AUTHORIZED_GROUPS?`);
  });

  test('a parse error names the explicit file and line', () => {
    const file = join(dir, 'bad.conf');
    writeFileSync(file, 'AWS_REGION=eu-north-1\nK="$(id)"\n');
    expect(() => loadConfig(file)).toThrow(`${file}:2: shell expansion`);
  });

  test('a directory given as the file is a ConfigError', () => {
    expect(() => loadConfig(dir)).toThrow(ConfigError);
  });
});
