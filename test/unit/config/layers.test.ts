import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaults, isKnownKey, knownKeys } from '../../../src/config/config';
import { buildConfig, buildLayered, fileLayer, ssmLayer, tagLayer, wantedTags, SSM_SETTABLE, type ConfigLayer, type SsmParameter } from '../../../src/config/layers';
import { parseConfigText } from '../../../src/config/parse';
import * as v from '../../../src/config/values';
import { thrownConfigError } from '../../helpers/config-errors';

const FILE = '/etc/iam-ssh.conf';
const PATH = '/iam-ssh/prod/';
const file = (text: string) => fileLayer(FILE, parseConfigText(text, FILE));
const param = (key: string, value: string, type = 'String'): SsmParameter => ({ name: `${PATH}${key}`, value, type });
const ssm = (...params: SsmParameter[]) => ssmLayer(PATH, params);
const flags = (entries: Record<string, string>): ConfigLayer => ({
  kind: 'flags', source: 'flags', entries: Object.entries(entries).map(([key, value]) => ({ key, value, source: `--${key}`, line: null })),
});

const thrown = thrownConfigError;

describe('layer precedence: defaults < file < SSM < tags < flags', () => {
  const fileText = 'IAM_AUTHORIZED_GROUPS=from-file\nSUDOERS_GROUPS=sudo-file\nMAX_REMOVALS=5\nUID_MIN=1000\nIAM_AUTHORIZED_GROUPS_TAG=SshGroups\n';

  test('each layer wins over the ones before it, key by key', () => {
    const base = file(fileText);
    const local = buildLayered([base]).config;
    const s = ssm(param('IAM_AUTHORIZED_GROUPS', 'from-ssm'), param('MAX_REMOVALS', '7'), param('SUDOERS_GROUPS', 'sudo-ssm')).layer;
    const t = tagLayer(local, { SshGroups: 'from-tag' }).layer;
    const { config } = buildLayered([base, s, t, flags({ MAX_REMOVALS: '9' })]);
    expect(config.authorizedGroups).toEqual(['from-tag']); // tag over SSM over file
    expect(config.sudoersGroups).toEqual(['sudo-ssm']); // SSM over file; no tag for it
    expect(config.maxRemovals).toBe(9); // flag over SSM over file
    expect(config.uidMin).toBe(1000); // file over default
    expect(config.uidMax).toBe(defaults().uidMax); // default
    expect(config.file).toBe(FILE);
  });

  test('without the higher layers the file applies', () => {
    expect(buildLayered([file(fileText)]).config.authorizedGroups).toEqual(['from-file']);
    expect(buildLayered([file(fileText), ssm().layer]).config.authorizedGroups).toEqual(['from-file']);
  });

  test('the file alone: its keys over the defaults; an unknown key is an error naming file and line', () => {
    const text = 'USERDEL_ARGS="--force --remove"\nLOCAL_GROUPS=users,video\n';
    const built = buildConfig(FILE, parseConfigText(text, FILE));
    expect(built.config.file).toBe(FILE);
    expect(built.config.localGroups).toEqual(['users', 'video']);
    expect(built.config.userdelArgs).toEqual(['--force']); // --remove is REMOVE_HOME's to decide
    expect(built.warnings).toEqual([]);
    expect(thrown(() => buildConfig(FILE, parseConfigText(`${text}NOPE=1\n`, FILE))).message).toBe(`${FILE}:3: unknown key NOPE`);
    expect(buildConfig(null, []).config).toEqual(defaults());
  });

  test('an unknown key from flags is an error too', () => {
    expect(thrown(() => buildLayered([file(''), flags({ NOPE: '1' })])).message).toBe('--NOPE: unknown key NOPE');
  });

  test('cross-key rules are checked on the result of all layers', () => {
    const e = thrown(() => buildLayered([file('UID_MIN=5000\n'), ssm(param('UID_MAX', '4000')).layer]));
    expect(e.message).toMatch(/UID_MIN must not be above UID_MAX/);
    // A lower layer's value that a higher one corrects is not an error.
    expect(buildLayered([file('UID_MIN=5000\nUID_MAX=4000\n'), ssm(param('UID_MAX', '9000')).layer]).config.uidMax).toBe(9000);
  });

  test('ASSUMEROLE is accepted from the file', () => {
    const arn = 'arn:aws:iam::123456789012:role/iam-ssh-reader';
    expect(buildLayered([file(`ASSUMEROLE=${arn}\n`)]).config.assumeRole).toBe(arn);
    expect(thrown(() => buildLayered([file('ASSUMEROLE=not-an-arn\n')])).message).toMatch(/iam-ssh.conf:1: ASSUMEROLE: "not-an-arn" is not an IAM role ARN/);
  });
});

describe('keys SSM may not set', () => {
  const localOnly: Record<string, string> = {
    SSM_CONFIG_PATH: '/other/', STATE_DIR: '/tmp/evil', CACHE_DIR: '/tmp/evil', AWS_ENDPOINT_URL: 'http://evil.example',
    AWS_REGION: 'eu-west-1', IMDS_ENDPOINT: 'http://evil.example', ASSUMEROLE: 'arn:aws:iam::999999999999:role/evil',
    USERADD_PROGRAM: '/tmp/evil', USERADD_ARGS: '--prefix /tmp', USERDEL_PROGRAM: '/tmp/evil', USERDEL_ARGS: '--remove',
    SUDOERS_FILE: '/etc/sudoers.d/evil', BASE_GROUP_FILE: '/tmp/group', USERDB_DIR: '/tmp/userdb', LOCAL_MARKER_GROUP: 'sudo',
    SUDO_LOCAL_GROUP: 'adm', REMOVE_HOME: 'yes', IAM_AUTHORIZED_GROUPS_TAG: 'Evil', SUDOERS_GROUPS_TAG: 'Evil',
    ALLOW_PRIVILEGED_GROUPS: 'docker', SUDOERSGROUP: 'evil', NOTIFY_WEBHOOK_URL: 'https://evil.example/', SENDMAIL_PROGRAM: '/tmp/evil',
  };

  test.each(Object.entries(localOnly))('%s from SSM is ignored with a warning naming the parameter', (key, value) => {
    const { config, warnings } = buildLayered([file(''), ssm(param(key, value)).layer]);
    expect(config).toEqual({ ...defaults(), file: FILE });
    expect(warnings).toEqual([`ssm:${PATH}${key}: ${key} can only be set in the local config file; ignored`]);
  });

  test('the same keys are honoured from the file and from flags', () => {
    const { config } = buildLayered([file('STATE_DIR=/srv/state\n'), flags({ CACHE_DIR: '/srv/cache' })]);
    expect([config.stateDir, config.cacheDir]).toEqual(['/srv/state', '/srv/cache']);
  });

  test('the fleet keys are all real keys and none of the local-only ones', () => {
    for (const k of SSM_SETTABLE) {
      expect(Object.keys(localOnly)).not.toContain(k);
      expect(isKnownKey(k)).toBe(true);
    }
    const sample: Record<string, string> = { IAM_AUTHORIZED_GROUPS: 'a', SUDOERS_GROUPS: '##ALL##', GROUP_MAP: 'devs=developers', DONOTSYNC: '1', KEYS_TIMEOUT: '3s' };
    const { config, warnings } = buildLayered([file(''), ssm(...Object.entries(sample).map(([k, val]) => param(k, val))).layer]);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ authorizedGroups: ['a'], sudoersGroups: 'all', groupMap: { devs: ['developers'] }, doNotSync: true, keysTimeoutMs: 3000 });
  });
});

describe('SSM parameter names and values', () => {
  test('the name under the path is the key; other names are warnings', () => {
    const { layer, warnings } = ssmLayer(PATH, [
      param('IAM_AUTHORIZED_GROUPS', 'ops', 'StringList'),
      { name: '/iam-ssh/prod/nested/UID_MIN', value: '1000', type: 'String' },
      { name: '/iam-ssh/prod/lowercase', value: 'x', type: 'String' },
      { name: '/iam-ssh/other/UID_MIN', value: '1000', type: 'String' },
    ]);
    expect(layer.entries).toEqual([{ key: 'IAM_AUTHORIZED_GROUPS', value: 'ops', source: 'ssm:/iam-ssh/prod/IAM_AUTHORIZED_GROUPS', line: null }]);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/^ssm:\/iam-ssh\/other\/UID_MIN: not a setting name under \/iam-ssh\/prod\//);
  });

  test('an unknown key unlike any known one is a warning: a newer version may know it', () => {
    expect(buildLayered([ssm(param('NO_SUCH_KEY', '1')).layer]).warnings).toEqual([`ssm:${PATH}NO_SUCH_KEY: unknown key NO_SUCH_KEY ignored`]);
    expect(buildLayered([ssm(param('constructor'.toUpperCase(), '1')).layer]).warnings).toHaveLength(1);
    expect(buildLayered([ssm(param('NOTE_1', 'x')).layer]).warnings).toHaveLength(1);
  });

  test('an unknown key one or two edits from a known one is a typo, and an error naming it', () => {
    expect(thrown(() => buildLayered([file(''), ssm(param('IAM_AUTHORIZED_GROUP', 'ops')).layer])).message)
      .toBe(`ssm:${PATH}IAM_AUTHORIZED_GROUP: unknown key IAM_AUTHORIZED_GROUP; did you mean IAM_AUTHORIZED_GROUPS?`);
    expect(thrown(() => buildLayered([ssm(param('SUDOERS_GROUP', 'ops')).layer])).message).toMatch(/did you mean SUDOERS_GROUPS\?/);
    expect(thrown(() => buildLayered([ssm(param('UID_MNI', '1000')).layer])).message).toMatch(/did you mean UID_MIN\?/);
  });

  test('a malformed value names the parameter', () => {
    const e = thrown(() => buildLayered([file(''), ssm(param('IAM_AUTHORIZED_GROUPS', 'ops, bad/group')).layer]));
    expect(e.message).toBe('ssm:/iam-ssh/prod/IAM_AUTHORIZED_GROUPS: IAM_AUTHORIZED_GROUPS: "bad/group" is not a valid IAM group name');
    expect(thrown(() => buildLayered([ssm(param('KEYS_TIMEOUT', '5 minutes')).layer])).message).toMatch(/^ssm:\/iam-ssh\/prod\/KEYS_TIMEOUT: KEYS_TIMEOUT: /);
  });

  test('a SUDO_RULE outside the grammar is refused, naming the parameter; a good one is kept in canonical form', () => {
    expect(thrown(() => buildLayered([file(''), ssm(param('SUDO_RULE', ',ALL ALL=(ALL) NOPASSWD:ALL')).layer])).message)
      .toMatch(/^ssm:\/iam-ssh\/prod\/SUDO_RULE: SUDO_RULE: ",ALL ALL=\(ALL\) NOPASSWD:ALL" is not a sudoers rule like ALL=\(ALL\) NOPASSWD:ALL: it must start with a host list/);
    expect(thrown(() => buildLayered([file('SUDO_RULE="ALL=(ALL) ALL : ALL=(ALL) NOPASSWD: ALL"')])).message).toMatch(/^\/etc\/iam-ssh.conf:1: SUDO_RULE: /);
    expect(buildLayered([file(''), ssm(param('SUDO_RULE', 'ALL = (root) NOPASSWD: /usr/bin/systemctl restart nginx')).layer]).config.sudoRule)
      .toBe('ALL=(root) NOPASSWD:/usr/bin/systemctl restart nginx');
  });

  test('SecureString and control characters are errors, not silently skipped', () => {
    expect(thrown(() => ssm(param('IAM_AUTHORIZED_GROUPS', 'AQICAH...', 'SecureString'))).message).toMatch(/^ssm:\/iam-ssh\/prod\/IAM_AUTHORIZED_GROUPS: .*SecureString/);
    expect(thrown(() => ssm(param('SUDO_RULE', 'ALL=(ALL) ALL\nroot ALL=(ALL) ALL'))).message).toMatch(/control characters/);
  });

  test('SSM paths', () => {
    expect(v.ssmPath('/iam-ssh/prod/')).toBe('/iam-ssh/prod/');
    expect(v.ssmPath('/iam-ssh/prod')).toBe('/iam-ssh/prod/');
    expect(v.ssmPath('/a')).toBe('/a/');
    for (const bad of ['iam-ssh/prod/', '/', '//', '/a//b/', '/a b/', '/a/../b/', '/aws/x/', '/SSM/x/', '/a/$(x)/', `/${'a/'.repeat(16)}`]) {
      expect(() => v.ssmPath(bad)).toThrow();
    }
  });
});

describe('instance tags', () => {
  const local = buildLayered([file('IAM_AUTHORIZED_GROUPS=from-file\nIAM_AUTHORIZED_GROUPS_TAG=SshGroups\nSUDOERS_GROUPS_TAG=SshSudo\n')]).config;

  test('wanted tags come from the two tag keys', () => {
    expect(wantedTags(local)).toEqual(['SshGroups', 'SshSudo']);
    expect(wantedTags(defaults())).toEqual([]);
  });

  test('tag values set the groups; an absent tag leaves the lower layer with a warning', () => {
    const { layer, warnings } = tagLayer(local, { SshGroups: 'ops,devs', SshSudo: null });
    expect(layer.entries).toEqual([{ key: 'IAM_AUTHORIZED_GROUPS', value: 'ops,devs', source: 'tag:SshGroups', line: null }]);
    expect(warnings).toEqual(['tag:SshSudo: this instance has no such tag; SUDOERS_GROUPS from the lower layers applies']);
  });

  test('an empty authorized-groups tag never widens access to every IAM user', () => {
    expect(thrown(() => tagLayer(local, { SshGroups: ' ', SshSudo: null })).message).toMatch(/^tag:SshGroups: IAM_AUTHORIZED_GROUPS: empty tag value/);
    // An empty sudo tag narrows (sudo not managed): allowed.
    expect(tagLayer(local, { SshGroups: 'ops', SshSudo: '' }).layer.entries).toHaveLength(2);
  });

  test('a malformed tag value names the tag', () => {
    const { layer } = tagLayer(local, { SshGroups: 'ops;rm -rf', SshSudo: null });
    expect(thrown(() => buildLayered([layer])).message).toMatch(/^tag:SshGroups: IAM_AUTHORIZED_GROUPS: "ops;rm -rf" is not a valid IAM group name/);
  });

  test('tag keys that instance metadata cannot serve are rejected in the file', () => {
    for (const ok of ['SshGroups', 'iam:groups', 'a.b', 'x@y', '__proto__']) expect(v.tagKey(ok)).toBe(ok);
    for (const bad of ['', 'has space', 'a/b', '.', '..', '_index', 'x'.repeat(129)]) expect(() => v.tagKey(bad)).toThrow(/not a tag key/);
  });
});

describe('docs/configuration.md says what the code does', () => {
  const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'configuration.md'), 'utf8');
  const section = (title: string) => doc.split(/^## /m).find((sct) => sct.startsWith(title))!;
  const rows = (text: string) => text.split('\n').filter((l) => /^\| `/.test(l)).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  const keysOf = (cell: string) => [...cell.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!);

  test('every key is in the key table', () => {
    expect(rows(section('Keys')).flatMap((r) => keysOf(r[0]!)).sort()).toEqual(knownKeys().sort());
  });

  test('the table of where each key may be set lists every key once, and matches SSM_SETTABLE and the tag layer', () => {
    const table = rows(section('Where each key may be set'));
    const all = table.flatMap((r) => keysOf(r[0]!));
    expect(all.sort()).toEqual(knownKeys().sort());
    expect(table.filter((r) => r[2]!.startsWith('yes')).flatMap((r) => keysOf(r[0]!)).sort()).toEqual([...SSM_SETTABLE].sort());
    expect(table.filter((r) => r[3]!.startsWith('yes')).flatMap((r) => keysOf(r[0]!)).sort()).toEqual(['IAM_AUTHORIZED_GROUPS', 'SUDOERS_GROUPS']);
    expect(table.every((r) => r[1] === 'yes')).toBe(true);
  });
});
