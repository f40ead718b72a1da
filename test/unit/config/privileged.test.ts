/**
 * Groups that amount to root (or to reading every secret) are joined only by the local
 * file's say-so, group by group, and never from SSM.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLayered, fileLayer, ssmLayer } from '../../../src/config/layers';
import { parseConfigText, ConfigError } from '../../../src/config/parse';
import { PRIVILEGED_GROUPS, sudoersReferences } from '../../../src/config/privileged';
import { readSudoersGroups } from '../../../src/config/host-sudoers';
import { thrownConfigError } from '../../helpers/config-errors';

const FILE = '/etc/iam-ssh.conf';
const PATH = '/iam-ssh/prod/';
const file = (text: string) => fileLayer(FILE, parseConfigText(text, FILE));
const ssm = (entries: Record<string, string>) => ssmLayer(PATH, Object.entries(entries).map(([k, value]) => ({ name: `${PATH}${k}`, value, type: 'String' }))).layer;

const thrown = thrownConfigError;

describe('the fixed list', () => {
  test.each(['root', 'wheel', 'sudo', 'admin', 'adm', 'shadow', 'disk', 'kmem', 'docker', 'lxd', 'incus-admin', 'libvirt', 'kvm', 'staff', 'systemd-journal'])('%s is privileged', (g) => {
    expect(PRIVILEGED_GROUPS.has(g)).toBe(true);
    const e = thrown(() => buildLayered([file(`DONOTSYNC=0\nLOCAL_GROUPS="users,${g}"`)]));
    expect(e.message).toMatch(new RegExp(`^${FILE}:2: LOCAL_GROUPS: ${g} is a privileged group \\(.+\\); to let synced users join it, add ALLOW_PRIVILEGED_GROUPS=${g} to ${FILE}$`));
  });

  test('ordinary groups are not', () => {
    for (const g of ['users', 'video', 'audio', 'postgres', 'developers']) expect(PRIVILEGED_GROUPS.has(g)).toBe(false);
    expect(buildLayered([file('LOCAL_GROUPS=users,video\nGROUP_MAP=dba=postgres')]).config.localGroups).toEqual(['users', 'video']);
  });
});

describe('the local file, with ALLOW_PRIVILEGED_GROUPS naming exactly which', () => {
  test('each privileged group must be named', () => {
    const ok = buildLayered([file('ALLOW_PRIVILEGED_GROUPS=docker,wheel\nLOCAL_GROUPS=docker\nGROUP_MAP=devs=docker+wheel')]).config;
    expect([ok.localGroups, ok.groupMap, ok.allowPrivilegedGroups]).toEqual([['docker'], { devs: ['docker', 'wheel'] }, ['docker', 'wheel']]);
    const e = thrown(() => buildLayered([file('ALLOW_PRIVILEGED_GROUPS=docker\nGROUP_MAP=devs=docker+wheel')]));
    expect(e.message).toMatch(new RegExp(`^${FILE}:2: GROUP_MAP: wheel is a privileged group .*add ALLOW_PRIVILEGED_GROUPS=docker,wheel to`));
  });

  test('the opt-in is read wherever it sits in the file', () => {
    expect(buildLayered([file('LOCAL_GROUPS=adm\nALLOW_PRIVILEGED_GROUPS=adm')]).config.localGroups).toEqual(['adm']);
  });

  test('the sudo group of our own sudoers line counts as privileged', () => {
    expect(thrown(() => buildLayered([file('LOCAL_GROUPS=iam-ssh-sudo')])).message).toMatch(/LOCAL_GROUPS: iam-ssh-sudo is a privileged group \(SUDO_LOCAL_GROUP: .*SUDOERS_GROUPS/);
    expect(thrown(() => buildLayered([file('SUDO_LOCAL_GROUP=ops-sudo\nGROUP_MAP=ops=ops-sudo')])).message).toMatch(/GROUP_MAP: ops-sudo is a privileged group/);
  });

  test('LOCAL_MARKER_GROUP, which every synced user joins, follows the same rule', () => {
    expect(thrown(() => buildLayered([file('LOCAL_MARKER_GROUP=docker')])).message).toMatch(new RegExp(`^${FILE}:1: LOCAL_MARKER_GROUP: docker is a privileged group`));
    expect(buildLayered([file('LOCAL_MARKER_GROUP=docker\nALLOW_PRIVILEGED_GROUPS=docker')]).config.localMarkerGroup).toBe('docker');
  });

  test('LOCAL_MARKER_GROUP and SUDO_LOCAL_GROUP must differ: every synced user would get sudo', () => {
    expect(thrown(() => buildLayered([file('SUDO_LOCAL_GROUP=iam-synced-users')])).message).toMatch(/LOCAL_MARKER_GROUP and SUDO_LOCAL_GROUP must be different groups/);
  });

  test('ALLOW_PRIVILEGED_GROUPS takes local group names only', () => {
    expect(thrown(() => buildLayered([file('ALLOW_PRIVILEGED_GROUPS=##ALL##')])).message).toMatch(/ALLOW_PRIVILEGED_GROUPS: "##ALL##" is not a valid local group name/);
    expect(thrown(() => buildLayered([file('ALLOW_PRIVILEGED_GROUPS="docker wheel"')])).message).toMatch(/ALLOW_PRIVILEGED_GROUPS:/);
  });
});

describe('SSM never grants a privileged group', () => {
  test('refused even when the file allows it, naming the parameter', () => {
    const e = thrown(() => buildLayered([file('ALLOW_PRIVILEGED_GROUPS=docker'), ssm({ LOCAL_GROUPS: 'users,docker' })]));
    expect(e.message).toBe(`ssm:${PATH}LOCAL_GROUPS: LOCAL_GROUPS: docker is a privileged group (${PRIVILEGED_GROUPS.get('docker')}); privileged groups can only be set in the local config file`);
    expect(thrown(() => buildLayered([file(''), ssm({ GROUP_MAP: 'ops=adm' })])).message).toMatch(/^ssm:\/iam-ssh\/prod\/GROUP_MAP: GROUP_MAP: adm is a privileged group/);
    expect(thrown(() => buildLayered([file(''), ssm({ GROUP_MAP: 'ops=iam-ssh-sudo' })])).message).toMatch(/GROUP_MAP: iam-ssh-sudo is a privileged group/);
  });

  test('ALLOW_PRIVILEGED_GROUPS from SSM is ignored with a warning', () => {
    const { config, warnings } = buildLayered([file(''), ssm({ ALLOW_PRIVILEGED_GROUPS: 'docker' })]);
    expect(config.allowPrivilegedGroups).toEqual([]);
    expect(warnings).toEqual([`ssm:${PATH}ALLOW_PRIVILEGED_GROUPS: ALLOW_PRIVILEGED_GROUPS can only be set in the local config file; ignored`]);
    expect(() => buildLayered([file(''), ssm({ ALLOW_PRIVILEGED_GROUPS: 'docker', LOCAL_GROUPS: 'docker' })])).toThrow(/privileged/);
  });

  test('ordinary groups from SSM are fine, and replace the file value', () => {
    const { config } = buildLayered([file('LOCAL_GROUPS=docker\nALLOW_PRIVILEGED_GROUPS=docker'), ssm({ LOCAL_GROUPS: 'users', GROUP_MAP: 'dba=postgres' })]);
    expect([config.localGroups, config.groupMap]).toEqual([['users'], { dba: ['postgres'] }]);
  });
});

describe("groups the host's sudoers grants", () => {
  const host = new Map([['ops', '/etc/sudoers.d/ops']]);

  test('count as privileged, naming the file that grants them', () => {
    const e = thrown(() => buildLayered([file('LOCAL_GROUPS=ops')], { privileged: host }));
    expect(e.message).toBe(`${FILE}:1: LOCAL_GROUPS: ops is a privileged group (a %ops rule in /etc/sudoers.d/ops); to let synced users join it, add ALLOW_PRIVILEGED_GROUPS=ops to ${FILE}`);
    expect(buildLayered([file('LOCAL_GROUPS=ops\nALLOW_PRIVILEGED_GROUPS=ops')], { privileged: host }).config.localGroups).toEqual(['ops']);
    expect(() => buildLayered([file(''), ssm({ GROUP_MAP: 'x=ops' })], { privileged: host })).toThrow(/ssm:.*GROUP_MAP: ops is a privileged group \(a %ops rule in \/etc\/sudoers.d\/ops\)/);
  });
});

describe('sudoersReferences: the %groups a sudoers text names, and its includes', () => {
  test('user specs, aliases, Defaults, runas lists; comments are not rules', () => {
    const text = [
      'Defaults env_reset',
      '# %commented ALL=(ALL) ALL',
      'root ALL=(ALL:ALL) ALL',
      '%sudo   ALL=(ALL:ALL) ALL',
      'User_Alias ADMINS = %ops, bob, %dba',
      '%wheel,%devs web1=(root) /usr/bin/id  # %trailing comment',
      'Defaults:%auditors !requiretty',
      'bob ALL=(%runas) ALL',
      '%#1000 ALL=ALL',
      '%:nonunix ALL=ALL',
      '%cont, \\',
      '  %inued ALL=ALL',
      '',
    ].join('\n');
    const r = sudoersReferences(text);
    expect(r.groups.sort()).toEqual(['auditors', 'cont', 'dba', 'devs', 'inued', 'ops', 'runas', 'sudo', 'wheel'].sort());
    expect(r.includes).toEqual([]);
  });

  test('#include, @include, #includedir, @includedir', () => {
    const r = sudoersReferences('#includedir /etc/sudoers.d\n@includedir /opt/s\n#include /etc/sudoers.local\n@include "rel file"\n@include %h.conf\n');
    expect(r.includes).toEqual([
      { path: '/etc/sudoers.d', dir: true },
      { path: '/opt/s', dir: true },
      { path: '/etc/sudoers.local', dir: false },
      { path: 'rel file', dir: false },
      { path: '%h.conf', dir: false },
    ]);
  });
});

describe('readSudoersGroups: the main file and what it includes, as sudo reads them', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'iam-ssh-sudoers-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('follows includes (relative ones from the including file), skips names sudo skips, survives cycles', () => {
    const main = join(dir, 'sudoers');
    mkdirSync(join(dir, 'd'));
    writeFileSync(main, `%sudo ALL=(ALL) ALL\n@includedir ${join(dir, 'd')}\n@include local\n#include ${main}\n`);
    writeFileSync(join(dir, 'local'), '%fromlocal ALL=ALL\n');
    writeFileSync(join(dir, 'd', 'ops'), '%ops ALL=(ALL) NOPASSWD: ALL\n');
    writeFileSync(join(dir, 'd', 'skipped.conf'), '%dotted ALL=ALL\n');
    writeFileSync(join(dir, 'd', 'backup~'), '%tilde ALL=ALL\n');
    mkdirSync(join(dir, 'd', 'sub'));
    symlinkSync(main, join(dir, 'd', 'loop'));
    const groups = readSudoersGroups(main);
    expect([...groups.keys()].sort()).toEqual(['fromlocal', 'ops', 'sudo']);
    expect(groups.get('ops')).toBe(join(dir, 'd', 'ops'));
    expect(groups.get('sudo')).toBe(main);
  });

  test('no sudoers file (sudo not installed): no groups', () => {
    expect(readSudoersGroups(join(dir, 'missing')).size).toBe(0);
    writeFileSync(join(dir, 's'), `@includedir ${join(dir, 'nodir')}\n@include ${join(dir, 'nofile')}\n`);
    expect(readSudoersGroups(join(dir, 's')).size).toBe(0);
  });

  test('a file that cannot be read is an error naming it, not an empty answer', () => {
    expect(() => readSudoersGroups(dir)).toThrow(ConfigError);
    expect(() => readSudoersGroups(dir)).toThrow(new RegExp(`^${dir}: cannot read`));
  });
});
