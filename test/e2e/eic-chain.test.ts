/**
 * Beside EC2 Instance Connect, as the images operators use ship it, in a private mount
 * namespace with a real sshd: Amazon Linux 2 (its lines in sshd_config), Amazon Linux 2023 (a
 * drop-in, 60-ec2-instance-connect.conf) and Ubuntu (-o options in a drop-in of ssh.service,
 * where no sshd config file shows them). For each: doctor names the command sshd really runs;
 * install puts iam-ssh's command first and chains EIC's through KEYS_CHAIN_COMMAND; sshd, started
 * as its unit starts it, lets ec2-user in with the key EIC serves and an IAM user with IAM's;
 * uninstall gives sshd back to EIC. No systemd runs here: the unit is read from its files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncEnv, AWS_ENV, BIN_IN_NS } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { Sshd, makeClientKey, sshLogin, prepareCommandUser, type ClientKey } from '../helpers/sshd';
import { logLines, type RunResult } from '../helpers/run';
import { execArgv, parseSshdArgv, parseUnitFiles, type UnitFile } from '../../src/platform/sshd-unit';

const MAIN = '/etc/ssh/sshd_config';
const INSTALLED = '/usr/local/bin/iam-ssh';
const AL_EIC = '/opt/aws/bin/eic_run_authorized_keys';
const UBUNTU_EIC = '/usr/share/ec2-instance-connect/eic_run_authorized_keys';
const EIC_LINES = (program: string) => `AuthorizedKeysCommand ${program} %u %f\nAuthorizedKeysCommandUser ec2-instance-connect\n`;
const UNIT_DIR = '/usr/lib/systemd/system';
const UBUNTU_DROP_IN = `${UNIT_DIR}/ssh.service.d/ec2-instance-connect.conf`;
const OUR_UNIT_DROP_IN = '/etc/systemd/system/ssh.service.d/zz-iam-ssh.conf';

interface Layout {
  name: string;
  eic: string;
  /** Where install reports finding EIC's command. */
  where: RegExp;
  setUp(original: string): Promise<void>;
  tearDown(original: string): Promise<void>;
}

rootSuite('beside EC2 Instance Connect', () => {
  let env: SyncEnv;
  let keyDir: string;
  let alice: ClientKey;
  let eicKey: ClientKey;
  let original: string;

  const ns = () => env.ns;
  const read = (path: string) => ns().readFile(path);
  const install = (...flags: string[]): Promise<RunResult> =>
    ns().exec(BIN_IN_NS, ['install', '--authorized-groups', 'ssh-users', '--endpoint-url', env.proxy.url, '--region', 'us-east-1', ...flags], { env: AWS_ENV, timeoutMs: 120_000 });
  const uninstall = (): Promise<RunResult> => ns().exec(INSTALLED, ['uninstall'], { env: AWS_ENV, timeoutMs: 60_000 });
  const doctor = async (bin: string) => {
    const r = await ns().exec(bin, ['doctor', '--json'], { env: AWS_ENV, timeoutMs: 60_000 });
    return Object.fromEntries((JSON.parse(r.stdout) as { checks: { id: string; status: string; summary: string }[] }).checks.map((c) => [c.id, c]));
  };

  /** ssh.service's -f and -o options, read the way systemd would (its directories and drop-ins). */
  const asTheUnitStartsIt = async (): Promise<{ configFile: string | null; options: string[] }> => {
    const names = new Map<string, string>();
    for (const dir of ['/etc/systemd/system/ssh.service.d', `${UNIT_DIR}/ssh.service.d`]) {
      const ls = await ns().exec('ls', ['-1', dir]);
      for (const n of ls.stdout.split('\n').filter((x) => x.endsWith('.conf'))) if (!names.has(n)) names.set(n, `${dir}/${n}`);
    }
    const files: UnitFile[] = [];
    for (const path of [`${UNIT_DIR}/ssh.service`, ...[...names.keys()].sort().map((n) => names.get(n)!)]) files.push({ path, text: await read(path) });
    const exec = parseUnitFiles(files).execStart!;
    return parseSshdArgv(execArgv(exec, new Map([['SSHD_OPTS', '']])));
  };
  /** `sshd -T` as the service starts it, for a connection of `user`. */
  const effective = async (user: string) => {
    const { configFile, options } = await asTheUnitStartsIt();
    const r = await ns().must('/usr/sbin/sshd', ['-T', '-f', configFile ?? MAIN, ...options.flatMap((o) => ['-o', o]), '-C', `user=${user},host=localhost,addr=127.0.0.1`]);
    return { command: /^authorizedkeyscommand (.*)$/m.exec(r.stdout)?.[1], user: /^authorizedkeyscommanduser (.*)$/m.exec(r.stdout)?.[1] };
  };
  const startSshd = async () => {
    const { configFile, options } = await asTheUnitStartsIt();
    return Sshd.startFromFile(ns(), configFile ?? MAIN, options);
  };
  const writeEic = async (program: string) => {
    await ns().must('mkdir', ['-p', '-m', '0755', program.slice(0, program.lastIndexOf('/'))]);
    // Stands in for EIC: the key pushed for ec2-user (a real one expires after 60 s).
    await ns().writeFile(program, `#!/bin/sh\n[ "$1" = ec2-user ] && echo '${eicKey.publicLine}'\nexit 0\n`, '0755');
  };

  const layouts: Layout[] = [
    {
      name: 'Amazon Linux 2: the lines in sshd_config itself, which includes nothing',
      eic: AL_EIC,
      where: /\/etc\/ssh\/sshd_config:\d+/,
      setUp: async (o) => {
        await writeEic(AL_EIC);
        await ns().writeFile(MAIN, o.replace(/^Include .*\n/m, '') + EIC_LINES(AL_EIC), '0644');
      },
      tearDown: async (o) => ns().writeFile(MAIN, o, '0644'),
    },
    {
      name: 'Amazon Linux 2023: a drop-in, 60-ec2-instance-connect.conf',
      eic: AL_EIC,
      where: /\/etc\/ssh\/sshd_config\.d\/60-ec2-instance-connect\.conf:1/,
      setUp: async () => {
        await writeEic(AL_EIC);
        await ns().writeFile('/etc/ssh/sshd_config.d/60-ec2-instance-connect.conf', EIC_LINES(AL_EIC), '0644');
      },
      tearDown: async () => void (await ns().must('rm', ['/etc/ssh/sshd_config.d/60-ec2-instance-connect.conf'])),
    },
    {
      name: "Ubuntu: -o options in the ExecStart of the ec2-instance-connect package's drop-in for ssh.service",
      eic: UBUNTU_EIC,
      where: /ssh\.service ExecStart \(\/usr\/lib\/systemd\/system\/ssh\.service\.d\/ec2-instance-connect\.conf:3\)/,
      setUp: async () => {
        await writeEic(UBUNTU_EIC);
        await ns().must('mkdir', ['-p', `${UNIT_DIR}/ssh.service.d`]);
        await ns().writeFile(UBUNTU_DROP_IN, `[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D -o "AuthorizedKeysCommand ${UBUNTU_EIC} %%u %%f" -o "AuthorizedKeysCommandUser ec2-instance-connect" $SSHD_OPTS\n`, '0644');
      },
      tearDown: async () => void (await ns().must('rm', ['-r', `${UNIT_DIR}/ssh.service.d`])),
    },
  ];

  beforeAll(async () => {
    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-eic-'));
    alice = await makeClientKey(keyDir, 'alice');
    eicKey = await makeClientKey(keyDir, 'eic');
    await env.moto.seed({ groups: ['ssh-users'], users: [{ name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: alice.publicLine }] }] });
    // Writable, private copies of the places the vendor's files live (the namespace overlays only /etc and /var).
    await ns().must('sh', ['-c', 'set -e; for d in /usr/share /opt /usr/lib/systemd/system; do t=/run/iam-ssh-overlay$d; mkdir -p -m 0755 $t/upper $t/work; mount -t overlay overlay -o "lowerdir=$d,upperdir=$t/upper,workdir=$t/work" $d; done']);
    await prepareCommandUser(ns());
    await ns().must('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'ec2-instance-connect']);
    await ns().must('useradd', ['--create-home', '--shell', '/bin/sh', '--password', '*', 'ec2-user']);
    original = await read(MAIN);
  });

  afterAll(async () => {
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  describe.each(layouts)('$name', (layout) => {
    beforeAll(() => layout.setUp(original));
    afterAll(() => layout.tearDown(original));

    test("before install, sshd runs EIC's command and doctor says so", async () => {
      expect(await effective('ec2-user')).toEqual({ command: `${layout.eic} %u %f`, user: 'ec2-instance-connect' });
      const checks = await doctor(BIN_IN_NS);
      expect(checks['keys-command']).toMatchObject({ status: 'fail', summary: expect.stringContaining(`sshd runs another AuthorizedKeysCommand (${layout.eic})`) });
    });

    test("install puts iam-ssh's command first and chains EIC's with its own arguments", async () => {
      const r = await install();
      expect(r.stderr).not.toMatch(/"level":"error"/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`chaining the AuthorizedKeysCommand of ${layout.where.source} after iam-ssh's keys: KEYS_CHAIN_COMMAND=${layout.eic} %u %f`));
      expect(r.stdout).toMatch(/keys runs it after iam-ssh's own lookup \(KEYS_CHAIN_COMMAND\), as iam-ssh/);
      expect(r.stdout).not.toMatch(/is now ignored/);
      expect(await read('/etc/iam-ssh.conf')).toContain(`KEYS_CHAIN_COMMAND='${layout.eic} %u %f'\n`);
      expect(await effective('ec2-user')).toEqual({ command: `${INSTALLED} keys %u %f`, user: 'iam-ssh' });
      // A second install changes nothing.
      expect((await install()).stdout).toContain('nothing to change');
    });

    test('doctor reports the command sshd runs as it is started, and the chain', async () => {
      const checks = await doctor(INSTALLED);
      expect(checks['keys-command']).toMatchObject({ status: 'ok', summary: `AuthorizedKeysCommand is ours: ${INSTALLED} keys %u %f` });
      expect(checks['keys-chain']).toMatchObject({ status: 'ok', summary: expect.stringContaining(`keys chains ${layout.eic} %u %f after IAM's keys`) });
    });

    test("a real login: ec2-user with the key EIC serves, the IAM user with IAM's; neither with the other's", async () => {
      const sshd = await startSshd();
      expect((await sshLogin(sshd.port, 'ec2-user', eicKey, ['id -un'])).stdout.trim()).toBe('ec2-user');
      expect((await sshLogin(sshd.port, 'alice.smith', alice, ['id -un'])).stdout.trim()).toBe('alice.smith');
      expect((await sshLogin(sshd.port, 'ec2-user', alice, ['id -un'])).code).toBe(255);
      expect((await sshLogin(sshd.port, 'alice.smith', eicKey, ['id -un'])).code).toBe(255);
      const lines = logLines(sshd.output);
      // ec2-user is no account of iam-ssh's: refused by the lookup, answered by the chain.
      expect(lines.some((l) => l.event === 'keys.refused' && l.user === 'ec2-user')).toBe(true);
      const chained = lines.filter((l) => l.event === 'keys.chained' && l.user === 'ec2-user' && l.lines === 1);
      expect(chained.length).toBeGreaterThan(0);
      expect(chained[0]).toMatchObject({ command: `${layout.eic} %u %f`, exitCode: 0, fingerprints: [expect.stringMatching(/^SHA256:/)] });
    });

    test('uninstall gives sshd back to EIC, as it was', async () => {
      const r = await uninstall();
      expect(r.code).toBe(0);
      expect(await effective('ec2-user')).toEqual({ command: `${layout.eic} %u %f`, user: 'ec2-instance-connect' });
      expect((await ns().exec('test', ['-e', OUR_UNIT_DROP_IN])).code).toBe(1);
    });
  });

  test("Ubuntu: install's unit drop-in keeps the vendor's other options and is what the service runs", async () => {
    const layout = layouts[2]!;
    await layout.setUp(original);
    await ns().writeFile(UBUNTU_DROP_IN, `[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D -o "PermitUserEnvironment EIC_*" -o "AuthorizedKeysCommand ${UBUNTU_EIC} %%u %%f" -o "AuthorizedKeysCommandUser ec2-instance-connect" $SSHD_OPTS\n`, '0644');
    try {
      expect((await install('--no-sync')).code).toBe(0);
      expect(await read(OUR_UNIT_DROP_IN)).toMatch(/\[Service\]\nExecStart=\nExecStart=\/usr\/sbin\/sshd -D -o "PermitUserEnvironment EIC_\*" \$SSHD_OPTS\n$/);
      expect(await asTheUnitStartsIt()).toEqual({ configFile: null, options: ['PermitUserEnvironment EIC_*'] });
      expect((await uninstall()).code).toBe(0);
    } finally {
      await layout.tearDown(original);
    }
  });

  test('keys refuses to run a chained program that others may write, as sshd would', async () => {
    await writeEic(AL_EIC);
    await ns().writeFile('/etc/iam-ssh.conf', `KEYS_CHAIN_COMMAND='${AL_EIC} %u %f'\n`, '0644');
    await ns().must('chmod', ['0775', AL_EIC]);
    const asCommandUser = () => ns().exec('setpriv', ['--reuid', 'iam-ssh', '--regid', 'iam-ssh', '--clear-groups', '--', BIN_IN_NS, 'keys', 'ec2-user'], { env: { PATH: '/usr/bin:/bin' } });
    let r = await asCommandUser();
    expect(r.stdout).toBe('');
    expect(logLines(r.stderr)).toContainEqual(expect.objectContaining({ event: 'keys.chain_refused', reason: `${AL_EIC} has mode 0775 (writable by its group)` }));
    await ns().must('chmod', ['0755', AL_EIC]);
    r = await asCommandUser();
    expect(r.stdout).toBe(`${eicKey.publicLine}\n`);
    await ns().must('rm', ['/etc/iam-ssh.conf']);
  });
});
