/**
 * A host that aws-ec2-ssh ran, taken over by iam-ssh exactly as docs/migration.md says, in a private
 * mount namespace with moto and a real sshd. The "before" state is built with aws-ec2-ssh's own
 * steps (import_users.sh and install.sh): its names, its marker group, its per-user sudoers files,
 * its config, cron file and sshd lines. After the migration every person has exactly one account,
 * with the same UID, home and files, logs in with a real ssh client under the name they had, and
 * has sudo exactly when in the sudo IAM group; no per-user sudoers file is left; a person removed
 * from IAM loses the account, not the home.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { SyncEnv, AWS_ENV, BIN_IN_NS } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { Sshd, makeClientKey, sshLogin, prepareCommandUser, type ClientKey } from '../helpers/sshd';
import type { RunResult } from '../helpers/run';

const MAIN = '/etc/ssh/sshd_config';
const INSTALLED = '/usr/local/bin/iam-ssh';
const MARKER = 'iam-synced-users';
const CRON = '/etc/cron.d/import_users';

interface Person {
  iam: string;
  /** The name aws-ec2-ssh gave the account (null: none here before the migration). */
  legacy: string | null;
  admin: boolean;
  /** aws-ec2-ssh gave sudo (a file in /etc/sudoers.d) before the migration. */
  hadSudo: boolean;
}

const PEOPLE: Person[] = [
  { iam: 'Alice.Smith', legacy: 'Alice.Smith', admin: true, hadSudo: true },
  // Left the sudo group since aws-ec2-ssh's last run: its file still grants sudo.
  { iam: 'bob', legacy: 'bob', admin: false, hadSudo: true },
  { iam: 'Carol+Ops@Corp.example', legacy: 'Carol.plus.Ops.at.Corp.example', admin: true, hadSudo: true },
  { iam: 'Dave.Gone', legacy: 'Dave.Gone', admin: false, hadSudo: false },
  // Never had an account on this host: iam-ssh creates one.
  { iam: 'Erin.New', legacy: null, admin: false, hadSudo: false },
];

/**
 * What import_users.sh does for each user it creates, in its order (`sort`ed IAM names). Debian's
 * useradd (shadow 4.13) accepts `Alice.Smith` as it is, like Amazon Linux's and RHEL's: no
 * `--badname` is needed for names of aws-ec2-ssh's syntax. Fixed text: names come as arguments.
 */
const IMPORT_USERS = `
set -e
marker=$1; shift
getent group "$marker" >/dev/null 2>&1 || groupadd "$marker"
for spec in "$@"; do
  name=\${spec%:*}; sudo=\${spec##*:}
  useradd --user-group --create-home --shell /bin/bash "$name"
  chown -R "$name:$name" "$(getent passwd "$name" | cut -d: -f6)"
  usermod -a -G "$marker" "$name"
  if [ "$sudo" = yes ]; then
    umask 022
    echo "$name ALL=(ALL) NOPASSWD:ALL" > "/etc/sudoers.d/$(echo "$name" | tr . ' ')"
  fi
done
`;

/** What a person keeps in their home: shell history, an ssh client config, work files. */
const PERSONAL_FILES = `
set -e
home=$(getent passwd "$1" | cut -d: -f6)
install -d -o "$1" -g "$1" -m 0700 "$home/.ssh" "$home/projects"
printf 'Host build\\n  User %s\\n' "$1" > "$home/.ssh/config"
printf 'notes of %s\\n' "$1" > "$home/projects/notes.txt"
head -c 4096 /dev/urandom > "$home/projects/data.bin"
chown "$1:$1" "$home/.ssh/config" "$home/projects/notes.txt" "$home/projects/data.bin"
chmod 0600 "$home/.ssh/config"
`;

/** /etc/aws-ec2-ssh.conf as its install.sh writes it (-i ssh-users -s ssh-admins -f "--force --remove"). */
const LEGACY_CONF = [
  'IAM_AUTHORIZED_GROUPS=""', 'LOCAL_MARKER_GROUP="iam-synced-users"', 'LOCAL_GROUPS=""', 'SUDOERS_GROUPS=""', 'ASSUMEROLE=""',
  '', '# Remove or set to 0 if you are done with configuration', 'DONOTSYNC=0',
  'IAM_AUTHORIZED_GROUPS="ssh-users"', 'SUDOERS_GROUPS="ssh-admins"', 'USERDEL_ARGS="--force --remove"',
].join('\n') + '\n';

const CRON_TEXT = 'SHELL=/bin/bash\nPATH=/usr/local/bin:/bin:/usr/bin:/usr/local/sbin:/usr/sbin:/sbin:/opt/aws/bin\nMAILTO=root\nHOME=/\n*/10 * * * * root /opt/import_users.sh\n';
const LEGACY_SSHD = 'AuthorizedKeysCommand /opt/authorized_keys_command.sh\nAuthorizedKeysCommandUser nobody\n';

rootSuite('migration from aws-ec2-ssh, step by step as docs/migration.md says', () => {
  let env: SyncEnv;
  let keyDir: string;
  const keys: Record<string, ClientKey> = {};
  /** Per person: the passwd entry and the listing of the home before the migration. */
  const before: Record<string, { uid: string; gid: string; home: string; files: string }> = {};

  const ns = () => env.ns;
  const sync = (...args: string[]): Promise<RunResult> => ns().exec(INSTALLED, ['sync', '--wait', '0', ...args], { env: AWS_ENV, timeoutMs: 120_000 });
  const passwd = async (name: string) => {
    const r = await ns().exec('getent', ['passwd', name]);
    return r.code === 0 ? r.stdout.trim().split(':') : null;
  };
  /** Every file under a home with owner (numbers), mode, size and content hash. */
  const listing = async (home: string) =>
    (await ns().must('sh', ['-c', 'cd "$1" && find . -printf "%p %U %G %m %s\\n" | sort && find . -type f -exec sha256sum {} + | sort', 'list', home])).stdout;
  const sudoList = async (name: string) => (await ns().exec('sudo', ['-l', '-U', name])).stdout;
  const sudoersFiles = async () => (await ns().must('ls', ['-A', '/etc/sudoers.d'])).stdout.trim().split('\n').sort();
  const withAccount = PEOPLE.filter((p) => p.legacy !== null);
  /** The name each person logs in with after the migration. */
  const loginName = (p: Person) => p.legacy ?? p.iam.toLowerCase();

  beforeAll(async () => {
    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-migration-'));
    for (const p of PEOPLE) keys[p.iam] = await makeClientKey(keyDir, `k${Object.keys(keys).length}`);
    await env.moto.seed({
      groups: ['ssh-users', 'ssh-admins'],
      users: PEOPLE.map((p) => ({ name: p.iam, groups: ['ssh-users', ...(p.admin ? ['ssh-admins'] : [])], keys: [{ body: keys[p.iam]!.publicLine }] })),
    });
    // aws-ec2-ssh's install.sh: scripts under /opt (this namespace's own), its config, cron file and sshd lines.
    await ns().must('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'opt', '/opt']);
    for (const script of ['/opt/import_users.sh', '/opt/authorized_keys_command.sh']) await ns().writeFile(script, '#!/bin/bash\nexit 0\n', '0755');
    // The endpoint and region stand in for AWS and the instance's region; aws-ec2-ssh ignores them.
    await ns().writeFile('/etc/aws-ec2-ssh.conf', `${LEGACY_CONF}AWS_ENDPOINT_URL="${env.proxy.url}"\nAWS_REGION="us-east-1"\n`, '0644');
    await ns().writeFile(CRON, CRON_TEXT, '0644');
    const sshdText = await ns().readFile(MAIN);
    await ns().writeFile(MAIN, sshdText + (sshdText.endsWith('\n') ? '' : '\n') + LEGACY_SSHD, '0644');
    // Its runs: the accounts, sorted by IAM name as import_users.sh sorts them, and what people put in their homes.
    const specs = withAccount.map((p) => `${p.legacy}:${p.hadSudo ? 'yes' : 'no'}`).sort();
    await ns().must('sh', ['-c', IMPORT_USERS, 'import_users', MARKER, ...specs]);
    for (const p of withAccount) {
      await ns().must('sh', ['-c', PERSONAL_FILES, 'files', p.legacy!]);
      const [, , uid, gid, , home] = (await passwd(p.legacy!))!;
      before[p.iam] = { uid: uid!, gid: gid!, home: home!, files: await listing(home!) };
    }
    // The command user with credentials standing in for the instance role (sshd gives keys no environment).
    await prepareCommandUser(ns());
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('before: the accounts, sudoers files and marker group are aws-ec2-ssh\'s', async () => {
    expect(before['Alice.Smith']!.home).toBe('/home/Alice.Smith');
    for (const p of withAccount) expect((await ns().must('id', ['-nG', p.legacy!])).stdout.split(/\s+/)).toContain(MARKER);
    expect(await sudoersFiles()).toEqual(['Alice Smith', 'Carol plus Ops at Corp example', 'README', 'bob'].sort());
    expect(await ns().readFile('/etc/sudoers.d/Alice Smith')).toBe('Alice.Smith ALL=(ALL) NOPASSWD:ALL\n');
    for (const p of withAccount) expect(await sudoList(p.legacy!)).toMatch(p.hadSudo ? /\(ALL\) NOPASSWD: ALL/ : /is not allowed to run sudo/);
    for (const p of withAccount) expect(Number(before[p.iam]!.uid)).toBeLessThan(200_000); // all below the default UID_MIN
  });

  test('step 1: `iam-ssh sync --dry-run` reads the old config, shows the plan and changes nothing', async () => {
    const snapshot = () => ns().must('sh', ['-c', 'find /etc /home /var/lib -xdev -printf "%p %U %m %s %T@\\n" 2>/dev/null | sort']);
    const was = (await snapshot()).stdout;
    // As the docs say, from wherever the executable was put, before anything is installed.
    const r = await ns().exec(BIN_IN_NS, ['sync', '--dry-run'], { env: AWS_ENV, timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n');
    const row = (action: string, target: string) => rows.filter((l) => new RegExp(`^${action}\\s+${target.replace(/[.+]/g, '\\$&')}\\s`).test(l));
    for (const p of withAccount) expect(row('adopt-user', p.legacy!)).toEqual([expect.stringContaining(`IAM ${p.iam}, uid ${before[p.iam]!.uid} kept`)]);
    expect(row('create-user', 'erin.new')).toHaveLength(1);
    expect(rows.filter((l) => l.startsWith('create-user'))).toHaveLength(1);
    expect(row('remove-legacy-sudoers', 'Alice.Smith')).toEqual([expect.stringContaining('/etc/sudoers.d/Alice Smith, after iam-ssh-sudo grants sudo')]);
    expect(row('remove-legacy-sudoers', 'Carol.plus.Ops.at.Corp.example')).toEqual([expect.stringContaining('after iam-ssh-sudo grants sudo')]);
    expect(row('remove-legacy-sudoers', 'bob')).toEqual([expect.stringContaining('/etc/sudoers.d/bob, no sudo from it')]);
    expect(rows.filter((l) => l.startsWith('remove-user'))).toEqual([]);
    const json = JSON.parse((await ns().must(BIN_IN_NS, ['sync', '--dry-run', '--json'], { env: AWS_ENV, timeoutMs: 120_000 })).stdout) as { actions: { kind: string }[] };
    expect(new Set(json.actions.map((a) => a.kind))).toEqual(new Set(['create-group', 'write-sudoers', 'adopt-user', 'create-user', 'add-member', 'remove-legacy-sudoers']));
    expect((await snapshot()).stdout).toBe(was);
  });

  test('step 2: `iam-ssh install` takes the schedule aside, runs the first sync and points sshd at iam-ssh', async () => {
    const r = await ns().exec(BIN_IN_NS, ['install'], { env: AWS_ENV, timeoutMs: 180_000 });
    expect(r.stderr).not.toMatch(/"level":"error"/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('importing the settings of /etc/aws-ec2-ssh.conf');
    expect((await ns().exec('test', ['-e', CRON])).code).toBe(1);
    const changes = r.stderr.split('\n').filter((l) => l.includes('"event":"sync.change"')).map((l) => JSON.parse(l) as { action: string; user?: string });
    expect(changes.filter((c) => c.action === 'adopt-user').map((c) => c.user).sort()).toEqual(withAccount.map((p) => p.legacy!).sort());
  });

  test('step 3: a second dry run plans nothing; only iam-ssh\'s drop-in is left in /etc/sudoers.d', async () => {
    const r = await sync('--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No changes: this host matches IAM.');
    expect(await sudoersFiles()).toEqual(['README', 'iam-ssh']);
  });

  test('step 3: every person has exactly one account, with the same UID, home and files', async () => {
    const names = (await ns().must('getent', ['passwd'])).stdout.trim().split('\n').map((l) => l.split(':')[0]!);
    for (const p of PEOPLE) {
      const mine = names.filter((n) => n.toLowerCase() === loginName(p).toLowerCase());
      expect(mine).toEqual([loginName(p)]);
    }
    for (const p of withAccount) {
      const [, , uid, gid, , home] = (await passwd(p.legacy!))!;
      expect({ uid, gid, home }).toEqual({ uid: before[p.iam]!.uid, gid: before[p.iam]!.gid, home: before[p.iam]!.home });
      expect(await listing(home!)).toBe(before[p.iam]!.files);
      expect((await ns().must('id', ['-nG', p.legacy!])).stdout.split(/\s+/)).toContain(MARKER);
    }
    // The new person: iam-ssh's lower-case name and a hash UID above UID_MIN.
    expect(Number((await passwd('erin.new'))![2])).toBeGreaterThanOrEqual(200_000);
  });

  test('step 3: sudo for exactly the members of the sudo IAM group (sudo -l -U)', async () => {
    for (const p of PEOPLE) {
      const out = await sudoList(loginName(p));
      if (p.admin) expect(out).toMatch(/\(ALL\) NOPASSWD: ALL/);
      else expect(out).toMatch(new RegExp(`User ${loginName(p).replace(/\./g, '\\.')} is not allowed to run sudo`));
    }
  });

  test('step 3: iam-ssh doctor finds nothing wrong, aws-ec2-ssh\'s schedule included', async () => {
    const r = await ns().exec(INSTALLED, ['doctor', '--json'], { env: AWS_ENV, timeoutMs: 60_000 });
    const checks = (JSON.parse(r.stdout) as { checks: { id: string; status: string; summary: string }[] }).checks;
    expect(checks.filter((c) => c.status === 'fail' || c.status === 'warn')).toEqual([]);
    expect(checks.find((c) => c.id === 'legacy-schedule')).toMatchObject({ status: 'ok' });
    expect(r.code).toBe(0);
  });

  test('step 3: each person logs in with a real ssh client under the name they had, the one below UID_MIN too', async () => {
    const sshd = await Sshd.startFromFile(ns(), MAIN);
    for (const p of PEOPLE) {
      const r = await sshLogin(sshd.port, loginName(p), keys[p.iam]!, ['id -un; id -u; cat ~/projects/notes.txt 2>/dev/null; sudo -n true 2>/dev/null && echo SUDO-OK || echo SUDO-DENIED']);
      expect(r.code).toBe(0);
      const [name, uid, ...rest] = r.stdout.trim().split('\n');
      expect(name).toBe(loginName(p));
      if (p.legacy) expect({ uid, notes: rest[0] }).toEqual({ uid: before[p.iam]!.uid, notes: `notes of ${p.legacy}` });
      expect(rest.at(-1)).toBe(p.admin ? 'SUDO-OK' : 'SUDO-DENIED');
    }
    // Another person's key does not open an account.
    expect((await sshLogin(sshd.port, 'Alice.Smith', keys['bob']!, ['true'])).code).toBe(255);
  });

  test('later: a person removed from IAM loses the account, not the home (REMOVE_HOME unset, USERDEL_ARGS --remove ignored)', async () => {
    const iam = env.moto.iam();
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'Dave.Gone' }));
    iam.destroy();
    const plan = await sync('--dry-run');
    expect(plan.stdout).toMatch(/remove-user\s+Dave\.Gone\s+IAM Dave\.Gone, home kept \(USERDEL_ARGS --remove would delete it; only REMOVE_HOME=yes does\)/);
    expect(plan.stdout).toContain('userdel_remove_ignored');
    const r = await sync();
    expect(r.code).toBe(0);
    expect(await passwd('Dave.Gone')).toBeNull();
    expect(await listing('/home/Dave.Gone')).toBe(before['Dave.Gone']!.files);
  });

  test('later, if wanted: ADOPTED_NAMES=rename-home renames to the lower-case form, UID and files kept', async () => {
    const conf = await ns().readFile('/etc/iam-ssh.conf');
    await ns().writeFile('/etc/iam-ssh.conf', `${conf}ADOPTED_NAMES=rename-home\n`, '0644');
    const plan = await sync('--dry-run');
    expect(plan.stdout).toMatch(/rename-user\s+Alice\.Smith\s+to alice\.smith, home moved/);
    expect(plan.stdout).toMatch(/rename-user\s+Carol\.plus\.Ops\.at\.Corp\.example\s+to carol\.plus\.ops\.at\.corp\.example, home moved/);
    expect(plan.stdout).not.toMatch(/rename-user\s+bob/);
    const r = await sync();
    expect(r.code).toBe(0);
    const [, , uid, gid, , home] = (await passwd('alice.smith'))!;
    expect({ uid, gid, home }).toEqual({ uid: before['Alice.Smith']!.uid, gid: before['Alice.Smith']!.gid, home: '/home/alice.smith' });
    expect(await passwd('Alice.Smith')).toBeNull();
    expect(await listing('/home/alice.smith')).toBe(before['Alice.Smith']!.files);
    expect((await ns().must('getent', ['group', before['Alice.Smith']!.gid])).stdout.split(':')[0]).toBe('alice.smith');
    expect((await sync('--dry-run')).stdout).toContain('No changes: this host matches IAM.');
    const sshd = await Sshd.startFromFile(ns(), MAIN);
    const login = await sshLogin(sshd.port, 'alice.smith', keys['Alice.Smith']!, ['id -un; sudo -n true && echo SUDO-OK']);
    expect(login.stdout.trim().split('\n')).toEqual(['alice.smith', 'SUDO-OK']);
    expect((await sshLogin(sshd.port, 'Alice.Smith', keys['Alice.Smith']!, ['true'])).code).toBe(255);
  });
});
