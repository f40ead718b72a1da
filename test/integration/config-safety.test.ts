/**
 * No setting, from SSM or from a typo in the file, grants more than it says: checked with the
 * built binary, moto, and the real visudo and sudo inside a private mount namespace. The
 * tests run in order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SSMClient, PutParameterCommand, DeleteParameterCommand } from '@aws-sdk/client-ssm';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { TEST_CREDENTIALS } from '../helpers/moto';
import { rootSuite } from '../helpers/namespace';
import { events } from '../helpers/run';
import { makeClientKey } from '../helpers/sshd';
import { sudoRule } from '../../src/config/values';

const PATH = '/iam-ssh/safety/';
const SUDOERS = '/etc/sudoers.d/iam-ssh';
const NOT_ALLOWED = /is not allowed to run sudo/;
/** The error a command logged, without the error class's name in front. */
const errorOf = (stderr: string, event: string) => String(events(stderr, event)[0]?.error).replace(/^ConfigError: /, '');

rootSuite('config safety against the real visudo, sudo and sync', () => {
  let env: SyncEnv;
  let ssm: SSMClient;
  let keyDir: string;
  const put = (key: string, value: string) => ssm.send(new PutParameterCommand({ Name: `${PATH}${key}`, Value: value, Type: 'String', Overwrite: true }));
  const unset = (key: string) => ssm.send(new DeleteParameterCommand({ Name: `${PATH}${key}` }));
  const base = { IAM_AUTHORIZED_GROUPS: 'ssh-users', SUDOERS_GROUPS: 'admins', SSM_CONFIG_PATH: PATH };
  const sudoList = async (user: string) => (await env.ns.must('sudo', ['-l', '-U', user])).stdout;
  const keys = (user: string) => env.ns.exec(BIN_IN_NS, ['keys', user], { env: AWS_ENV });
  /** The run changed nothing: exit 2, the error names `source`, no change line, the same sudoers file. */
  const refused = async (source: RegExp, sudoersBefore: string) => {
    const r = await env.sync();
    expect(r.code).toBe(2);
    expect(errorOf(r.stderr, 'config.error')).toMatch(source);
    expect(events(r.stderr, 'sync.change')).toHaveLength(0);
    expect(await env.ns.readFile(SUDOERS)).toBe(sudoersBefore);
    return r;
  };

  beforeAll(async () => {
    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-safety-'));
    const key = await makeClientKey(keyDir, 'k');
    await env.moto.seed({
      groups: ['ssh-users', 'admins', 'outsiders'],
      users: [
        { name: 'Alice', groups: ['ssh-users', 'admins'], keys: [{ body: key.publicLine }] },
        { name: 'Bob', groups: ['ssh-users'], keys: [{ body: key.publicLine }] },
        // In no authorized group: if a typo emptied IAM_AUTHORIZED_GROUPS, sync would create her.
        { name: 'Dora', groups: ['outsiders'], keys: [{ body: key.publicLine }] },
      ],
    });
    ssm = new SSMClient({ region: 'us-east-1', endpoint: env.moto.url, credentials: TEST_CREDENTIALS });
    await put('IAM_AUTHORIZED_GROUPS', 'ssh-users');
    // A local account iam-ssh does not manage, and local groups to map.
    await env.ns.must('useradd', ['--create-home', 'carol']);
    for (const g of ['docker', 'ops', 'developers']) await env.ns.must('groupadd', [g]);
    await env.config(base);
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(await env.groupsOf('alice')).toContain('iam-ssh-sudo');
  });
  afterAll(async () => {
    ssm?.destroy();
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('the finding is real: a SUDO_RULE with a leading comma passes visudo -c and makes every account root', async () => {
    const probe = '/etc/sudoers.d/zz-probe';
    await env.ns.writeFile(probe, '%iam-ssh-sudo ,ALL ALL=(ALL) NOPASSWD:ALL\n', '0440');
    try {
      expect((await env.ns.exec('visudo', ['-c', '-q'])).code).toBe(0);
      expect(await sudoList('carol')).toMatch(/\(ALL\) NOPASSWD: ALL/);
    } finally {
      await env.ns.must('rm', ['-f', probe]);
    }
    expect(await sudoList('carol')).toMatch(NOT_ALLOWED);
  });

  test('SUDO_RULE from SSM outside the grammar: refused, naming the parameter; nothing changes', async () => {
    const before = await env.ns.readFile(SUDOERS);
    for (const hostile of [',ALL ALL=(ALL) NOPASSWD:ALL', 'ALL=(ALL) NOPASSWD:ALL, ALL ALL=(ALL) ALL', 'ALL=(ALL) ALL : ALL=(ALL) NOPASSWD: ALL', 'ALL=(ALL) SETENV: /usr/bin/id']) {
      await put('SUDO_RULE', hostile);
      await refused(new RegExp(`^ssm:${PATH}SUDO_RULE: SUDO_RULE: .* is not a sudoers rule`), before);
    }
    expect(await sudoList('carol')).toMatch(NOT_ALLOWED);
    await unset('SUDO_RULE');
  });

  test('SUDO_RULE in the file outside the grammar: refused, naming the file and line', async () => {
    const before = await env.ns.readFile(SUDOERS);
    await env.config({ ...base, SUDO_RULE: ',ALL ALL=(ALL) NOPASSWD:ALL' });
    await refused(/^\/etc\/iam-ssh.conf:5: SUDO_RULE: /, before);
    await env.config(base);
  });

  test('accepted rules from SSM: sync writes their canonical form, and only the sudo group gets it', async () => {
    await put('SUDO_RULE', 'ALL = (root) NOPASSWD: /usr/bin/id -u, /usr/bin/whoami');
    expect((await env.sync()).code).toBe(0);
    expect(await env.ns.readFile(SUDOERS)).toMatch(/^%iam-ssh-sudo ALL=\(root\) NOPASSWD:\/usr\/bin\/id -u, \/usr\/bin\/whoami$/m);
    expect(await sudoList('alice')).toMatch(/\(root\) NOPASSWD: \/usr\/bin\/id -u, \/usr\/bin\/whoami/);
    expect((await env.ns.exec('runuser', ['-u', 'alice', '--', 'sudo', '-n', '/usr/bin/id', '-u'])).stdout.trim()).toBe('0');
    expect((await env.ns.exec('runuser', ['-u', 'alice', '--', 'sudo', '-n', '/usr/bin/id'])).code).not.toBe(0);
    for (const u of ['bob', 'carol']) expect(await sudoList(u)).toMatch(NOT_ALLOWED);
    await unset('SUDO_RULE');
    expect((await env.sync()).code).toBe(0);
    expect(await sudoList('alice')).toMatch(/\(ALL\) NOPASSWD: ALL/);
  });

  test('any rule the grammar accepts passes visudo -c and grants the sudo group only (sampled)', async () => {
    const host = fc.constantFrom('ALL', 'web1', 'db-2.example.com', '10.1.2.3');
    const runas = fc.constantFrom('', '(ALL) ', '(root) ', '(ALL:ALL) ', '(:adm) ', '(root,nobody) ');
    const tags = fc.subarray(['NOPASSWD', 'PASSWD', 'NOEXEC', 'EXEC', 'NOSETENV', 'LOG_INPUT', 'NOLOG_OUTPUT', 'MAIL', 'NOMAIL', 'LOG_OUTPUT', 'NOLOG_INPUT']);
    const command = fc.oneof(fc.constant('ALL'), fc.tuple(fc.constantFrom('/usr/bin/id', '/bin/systemctl', '/usr/bin/env'), fc.array(fc.constantFrom('-u', 'nginx', 'a@b.service', '/var/log/x', '""'), { maxLength: 2 })).map(([p, a]) => [p, ...a].join(' ')));
    const rule = fc
      .tuple(fc.uniqueArray(host, { minLength: 1, maxLength: 3 }), runas, tags, fc.array(command, { minLength: 1, maxLength: 3 }))
      .filter(([hosts]) => !hosts.includes('ALL') || hosts.length === 1)
      .map(([hosts, r, t, cmds]) => `${hosts.join(',')}=${r}${t.map((x) => `${x}:`).join('')}${cmds.join(', ')}`);
    const before = await env.ns.readFile(SUDOERS);
    try {
      for (const r of fc.sample(rule, { seed: 20240611, numRuns: 12 })) {
        let canonical: string;
        try {
          canonical = sudoRule(r);
        } catch {
          continue; // e.g. `/usr/bin/id "" -u`: refused, and that is fine
        }
        await env.ns.writeFile(SUDOERS, `%iam-ssh-sudo ${canonical}\n`, '0440');
        const check = await env.ns.exec('visudo', ['-c', '-q']);
        expect({ rule: canonical, visudo: check.code, out: check.stderr + check.stdout }).toEqual({ rule: canonical, visudo: 0, out: '' });
        for (const u of ['bob', 'carol', 'nobody']) expect({ rule: canonical, user: u, list: await sudoList(u) }).toEqual({ rule: canonical, user: u, list: expect.stringMatching(NOT_ALLOWED) });
      }
    } finally {
      await env.ns.writeFile(SUDOERS, before, '0440');
    }
  });

  test('a privileged group from SSM is refused even when the file allows it', async () => {
    const before = await env.ns.readFile(SUDOERS);
    await env.config({ ...base, ALLOW_PRIVILEGED_GROUPS: 'docker' });
    await put('LOCAL_GROUPS', 'docker');
    await refused(new RegExp(`^ssm:${PATH}LOCAL_GROUPS: LOCAL_GROUPS: docker is a privileged group .*only be set in the local config file`), before);
    await put('LOCAL_GROUPS', 'developers');
    await put('GROUP_MAP', 'admins=iam-ssh-sudo');
    await refused(/GROUP_MAP: iam-ssh-sudo is a privileged group/, before);
    await unset('GROUP_MAP');
    expect((await env.sync()).code).toBe(0);
    expect(await env.groupsOf('bob')).toEqual(['bob', 'developers', 'iam-synced-users']);
    await unset('LOCAL_GROUPS');
  });

  test('from the file, a privileged group needs ALLOW_PRIVILEGED_GROUPS naming it; a %group of the host sudoers is one', async () => {
    const before = await env.ns.readFile(SUDOERS);
    await env.config({ ...base, GROUP_MAP: 'admins=docker' });
    await refused(/^\/etc\/iam-ssh.conf:5: GROUP_MAP: docker is a privileged group .*add ALLOW_PRIVILEGED_GROUPS=docker to \/etc\/iam-ssh.conf/, before);
    await env.ns.writeFile('/etc/sudoers.d/ops', '%ops ALL=(ALL) NOPASSWD: ALL\n', '0440');
    await env.config({ ...base, GROUP_MAP: 'admins=docker+ops', ALLOW_PRIVILEGED_GROUPS: 'docker' });
    await refused(/GROUP_MAP: ops is a privileged group \(a %ops rule in \/etc\/sudoers.d\/ops\)/, before);
    await env.config({ ...base, GROUP_MAP: 'admins=docker+ops', ALLOW_PRIVILEGED_GROUPS: 'docker,ops' });
    expect((await env.sync()).code).toBe(0);
    expect(await env.groupsOf('alice')).toEqual(expect.arrayContaining(['docker', 'ops']));
    expect(await env.groupsOf('bob')).not.toContain('ops');
  });

  test('a typo in the file: sync and install change nothing, keys fails closed, each naming the line and the key meant', async () => {
    expect((await keys('alice')).stdout).toMatch(/^ssh-ed25519 /);
    // Were the typo ignored, the empty IAM_AUTHORIZED_GROUPS would authorize every IAM user (Dora too).
    const text = `AWS_ENDPOINT_URL="${env.proxy.url}"\nIAM_AUTHORIZED_GROUP="ssh-users"\nSUDOERS_GROUPS="admins"\n`;
    await env.ns.writeFile('/etc/iam-ssh.conf', text);
    const message = '/etc/iam-ssh.conf:2: unknown key IAM_AUTHORIZED_GROUP; did you mean IAM_AUTHORIZED_GROUPS?';
    const r = await refused(/./, await env.ns.readFile(SUDOERS));
    expect(errorOf(r.stderr, 'config.error')).toBe(message);
    expect(await env.passwd('dora')).toBeNull();
    const k = await keys('alice');
    expect([k.code, k.stdout]).toEqual([0, '']);
    expect(errorOf(k.stderr, 'keys.failed_closed')).toBe(message);
    const install = await env.ns.exec(BIN_IN_NS, ['install', '--region', 'us-east-1', '--no-sync'], { env: AWS_ENV, timeoutMs: 60_000 });
    expect(install.code).not.toBe(0);
    expect(install.stderr + install.stdout).toContain(message);
    expect(await env.ns.readFile('/etc/iam-ssh.conf')).toBe(text);
    expect((await env.ns.exec('test', ['-e', '/usr/local/bin/iam-ssh'])).code).not.toBe(0);
  });

  test("aws-ec2-ssh's file with the deprecated SUDOERSGROUP grants sudo as it did", async () => {
    await env.ns.must('rm', ['/etc/iam-ssh.conf']);
    await env.ns.writeFile('/etc/aws-ec2-ssh.conf', `IAM_AUTHORIZED_GROUPS="ssh-users"\nSUDOERS_GROUPS=""\nSUDOERSGROUP="admins"\nAWS_ENDPOINT_URL="${env.proxy.url}"\n`);
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(String(events(r.stderr, 'config.warning')[0]?.message)).toMatch(/^\/etc\/aws-ec2-ssh.conf:3: SUDOERSGROUP is deprecated; read as SUDOERS_GROUPS/);
    expect(await sudoList('alice')).toMatch(/\(ALL\) NOPASSWD: ALL/);
    expect(await sudoList('bob')).toMatch(NOT_ALLOWED);
  });

  test('a KEYS_TIMEOUT past what a timer can hold is refused, not run as an instant timeout', async () => {
    await env.ns.writeFile('/etc/aws-ec2-ssh.conf', `IAM_AUTHORIZED_GROUPS="ssh-users"\nKEYS_TIMEOUT=30d\nAWS_ENDPOINT_URL="${env.proxy.url}"\n`);
    const k = await keys('alice');
    expect([k.code, k.stdout]).toEqual([0, '']);
    expect(errorOf(k.stderr, 'keys.failed_closed')).toBe('/etc/aws-ec2-ssh.conf:2: KEYS_TIMEOUT: 30d is outside 500ms..30s');
    expect(k.stderr).not.toMatch(/TimeoutOverflowWarning/);
  });
});
