/** The host checks of doctor, from tables of facts: each case says what it proves. */
import {
  checkBinaryPath, checkCacheDir, checkCommandUser, checkConfigFile, checkHostKeys, checkKeysCommand, checkRoot,
  checkSshdConfig, checkStateDir, mayAccess, runChecks, sshdComplaint, CHECKS,
} from '../../../src/doctor/checks';
import type { DoctorFacts, PathFact } from '../../../src/doctor/facts';
import { checkTable, healthyFacts, dir, file } from '../../helpers/doctor-fixtures';

const table = checkTable;

const settings = (f: DoctorFacts) => (f.sshd.ran ? f.sshd.settings : {});

table('root', checkRoot, [
  ['root', () => {}, 'ok'],
  ['not root warns', (f) => (f.isRoot = false), 'warn', /not running as root/, /sudo/],
]);

table('config-file', checkConfigFile, [
  ['root-owned 0644', () => {}, 'ok'],
  ['no file: defaults', (f) => (f.config = { file: null, error: null, stat: null }), 'warn', /built-in defaults/],
  ['no file: names the files looked for and what the defaults mean', (f) => {
    f.config = { file: null, error: null, stat: null, searched: ['/etc/iam-ssh.conf', '/etc/aws-ec2-ssh.conf'] };
    f.aws!.groups = [{ group: '*', result: { ok: true, members: ['Alice'] } }];
  }, 'warn', /^no \/etc\/iam-ssh\.conf or \/etc\/aws-ec2-ssh\.conf: built-in defaults apply; IAM_AUTHORIZED_GROUPS is empty, so every IAM user of the account may log in$/, /IAM_AUTHORIZED_GROUPS/],
  ['parse error', (f) => (f.config.error = '/etc/iam-ssh.conf:3: UID_MIN: not a number'), 'fail', /UID_MIN/],
  ['group-writable', (f) => (f.config.stat = file('/etc/iam-ssh.conf', 0o664)), 'fail', /writable by its group/, /chmod 0644 \/etc\/iam-ssh.conf/],
  ['owned by a user', (f) => (f.config.stat = file('/etc/iam-ssh.conf', 0o644, 1000)), 'fail', /uid 1000/, /chown root:root/],
  ['unreadable', (f) => (f.config.stat = { path: '/etc/iam-ssh.conf', missing: true, error: 'EACCES' }), 'fail'],
]);

table('sshd-config', checkSshdConfig, [
  ['sshd -T passes', () => {}, 'ok', /probe/],
  ['not root skips', (f) => (f.isRoot = false), 'skip'],
  ['no sshd', (f) => (f.sshd = { ran: false, reason: 'no sshd in /usr/sbin/sshd' }), 'fail', /could not run/, /openssh-server/],
  ['missing /run/sshd', (f) => (f.sshd = { ran: true, exitCode: 255, stderr: 'Missing privilege separation directory: /run/sshd\n', probeUser: 'x', settings: {} }), 'fail', /privilege separation/, /mkdir -p -m 0755 \/run\/sshd/],
  ['bad line', (f) => (f.sshd = { ran: true, exitCode: 255, stderr: '/etc/ssh/sshd_config line 3: Bad configuration option: Foo\n', probeUser: 'x', settings: {} }), 'fail', /line 3/, /sshd -t/],
  ['only key too open', (f) => (f.sshd = { ran: true, exitCode: 1, stderr: '@@@@\n@ WARNING: UNPROTECTED PRIVATE KEY FILE! @\nPermissions 0777 for k\n', probeUser: 'x', settings: {} }), 'fail', /Permissions 0777/, /host-keys/],
]);

test('sshdComplaint drops the banner and keeps three lines', () => {
  expect(sshdComplaint('@@@@@@\n@   WARNING   @\n\na\nb\nc\nd\n')).toBe('a; b; c');
  expect(sshdComplaint('')).toBe('no message');
});

table('keys-command', checkKeysCommand, [
  ['ours', () => {}, 'ok', /ours/],
  ['ours by path, another name', (f) => { settings(f).authorizedkeyscommand = ['/opt/x/ssh-keys keys %u %f']; f.selfPath = '/opt/x/ssh-keys'; }, 'ok'],
  ['none', (f) => (settings(f).authorizedkeyscommand = ['none']), 'fail', /no AuthorizedKeysCommand/, /00-iam-ssh.conf/],
  ['EC2 Instance Connect first', (f) => (settings(f).authorizedkeyscommand = ['/opt/aws/bin/eic_run_authorized_keys %u %f']), 'fail', /another AuthorizedKeysCommand.*eic_run/, /ahead of any other/],
  ['wrong arguments', (f) => (settings(f).authorizedkeyscommand = ['/usr/local/bin/iam-ssh sync']), 'fail', /does not pass "keys %u"/],
  ['no command user', (f) => (settings(f).authorizedkeyscommanduser = ['none']), 'fail', /AuthorizedKeysCommandUser is not set/],
  ['sshd failed', (f) => (f.sshd = { ran: true, exitCode: 1, stderr: 'x', probeUser: 'x', settings: {} }), 'skip'],
  ['file mode, file configured', (f) => { f.keysMode = 'file'; settings(f).authorizedkeysfile = ['/etc/ssh/iam-ssh/authorized_keys/%u']; }, 'ok', /KEYS_MODE=file/],
  ['file mode, KEYS_FILE_DIR elsewhere than sshd reads', (f) => { f.keysMode = 'file'; f.keysFileDir = '/etc/ssh/keys'; settings(f).authorizedkeysfile = ['/etc/ssh/iam-ssh/authorized_keys/%u']; }, 'fail', /AuthorizedKeysFile is/, /\/etc\/ssh\/keys\/%u/],
  ['file mode, file not configured', (f) => { f.keysMode = 'file'; settings(f).authorizedkeysfile = ['.ssh/authorized_keys .ssh/authorized_keys2']; }, 'fail', /AuthorizedKeysFile is/, /AuthorizedKeysFile \/etc\/ssh\/iam-ssh/],
]);

const chain = (...facts: PathFact[]) => (f: DoctorFacts) => {
  f.commandPath = { program: facts[0]!.path, resolved: facts[0]!.path, error: null, chain: facts };
};
const BIN = file('/usr/local/bin/iam-ssh', 0o755);

table('binary-path', checkBinaryPath, [
  ['root-owned chain', () => {}, 'ok', /4 directories/],
  ['directory 0777', chain(file('/usr/local/sbin/x/iam-ssh', 0o755), dir('/usr/local/sbin/x', 0o777), dir('/usr/local/sbin', 0o755), dir('/usr/local', 0o755), dir('/usr', 0o755), dir('/', 0o755)),
    'fail', /\/usr\/local\/sbin\/x has mode 0777 \(writable by everyone\)/, /chmod 0755 \/usr\/local\/sbin\/x/],
  ['sticky /tmp', chain(file('/tmp/iam-ssh', 0o755), dir('/tmp', 0o1777), dir('/', 0o755)), 'fail', /\/tmp has mode 1777/],
  ['directory owned by a user', chain(file('/home/u/iam-ssh', 0o755), dir('/home/u', 0o755, 1000), dir('/home', 0o755), dir('/', 0o755)), 'fail', /\/home\/u is owned by uid 1000/, /chown root:root \/home\/u/],
  ['binary group-writable', chain(file('/usr/local/bin/iam-ssh', 0o775), dir('/usr/local/bin', 0o755), dir('/', 0o755)), 'fail', /iam-ssh has mode 0775/],
  ['binary owned by a user', chain(file('/usr/local/bin/iam-ssh', 0o755, 1000), dir('/usr/local/bin', 0o755), dir('/', 0o755)), 'fail', /uid 1000/],
  ['missing binary', (f) => (f.commandPath = { program: '/usr/local/bin/iam-ssh', resolved: null, error: 'ENOENT', chain: [] }), 'fail', /does not exist \(ENOENT\)/, /install/],
  ['relative program', (f) => (f.commandPath = { program: 'iam-ssh', resolved: null, error: 'ENOENT', chain: [] }), 'fail', /not an absolute path/],
  ['a directory, not a file', chain(dir('/usr/local/bin/iam-ssh', 0o755), dir('/usr/local/bin', 0o755), dir('/', 0o755)), 'fail', /not a regular file/],
  ['no command', (f) => (f.commandPath = null), 'skip'],
  ['file mode', (f) => (f.keysMode = 'file'), 'skip'],
]);

table('command-user', checkCommandUser, [
  ['exists and can execute', () => {}, 'ok', /can execute/],
  ['missing', (f) => (f.commandUser.entry = null), 'fail', /iam-ssh does not exist/, /useradd --system/],
  ['root', (f) => (f.commandUser.entry = { name: 'iam-ssh', uid: 0, gids: [0] }), 'warn', /is root/],
  ['cannot execute 0750 root:root', chain(file('/usr/local/bin/iam-ssh', 0o750), dir('/usr/local/bin', 0o755), dir('/', 0o755)), 'fail', /cannot execute/, /chmod 0755/],
  ['may execute 0750 through its group', (f) => { chain({ ...BIN, mode: 0o750, gid: 998 } as PathFact, dir('/usr/local/bin', 0o755), dir('/', 0o755))(f); }, 'ok'],
  ['cannot enter a 0700 directory', chain(BIN, dir('/usr/local/bin', 0o700), dir('/', 0o755)), 'fail', /cannot enter \/usr\/local\/bin/, /chmod o\+x/],
  ['file mode', (f) => (f.keysMode = 'file'), 'skip'],
]);

describe('mayAccess follows the kernel: owner bits exclude the others', () => {
  const u = { uid: 1000, gids: [1000, 50] };
  test.each([
    [file('/f', 0o077, 1000), false],
    [file('/f', 0o100, 1000), true],
    [{ ...file('/f', 0o010), gid: 50 } as PathFact, true],
    [{ ...file('/f', 0o701), gid: 50 } as PathFact, false],
    [file('/f', 0o001), true],
    [file('/f', 0o770), false],
  ])('%o', (p, want) => expect(mayAccess(p as Extract<PathFact, { missing: false }>, u, 1)).toBe(want));
  test('root needs some x bit on a file', () => {
    expect(mayAccess(file('/f', 0o600) as Extract<PathFact, { missing: false }>, { uid: 0, gids: [0] }, 1)).toBe(false);
    expect(mayAccess(dir('/d', 0o000) as Extract<PathFact, { missing: false }>, { uid: 0, gids: [0] }, 1)).toBe(true);
  });
});

const keys = (...k: PathFact[]) => (f: DoctorFacts) => (f.hostKeys = k);
table('host-keys', checkHostKeys, [
  ['0600 root', () => {}, 'ok', /2 host private keys/],
  ['0777', keys(file('/etc/ssh/ssh_host_ed25519_key', 0o777)), 'fail', /ssh_host_ed25519_key has mode 0777/, /chmod 0600 \/etc\/ssh\/ssh_host_ed25519_key/],
  ['0644', keys(file('/etc/ssh/k', 0o600), file('/etc/ssh/ssh_host_rsa_key', 0o644)), 'fail', /ssh_host_rsa_key has mode 0644/],
  ['0640 group ssh_keys (Red Hat)', keys({ ...file('/etc/ssh/k', 0o640), gid: 996, groupName: 'ssh_keys' } as PathFact), 'ok'],
  ['0660 group ssh_keys', keys({ ...file('/etc/ssh/k', 0o660), gid: 996, groupName: 'ssh_keys' } as PathFact), 'fail', /0660/],
  ['0640 another group', keys({ ...file('/etc/ssh/k', 0o640), gid: 4, groupName: 'adm' } as PathFact), 'fail', /0640/],
  ['owned by a user', keys(file('/etc/ssh/k', 0o600, 1000)), 'fail', /uid 1000/, /chown root:root/],
  ['a symlink target that is a directory', keys(dir('/etc/ssh/k', 0o700)), 'fail', /is a dir/],
  ['missing ones are ignored', keys(file('/etc/ssh/k', 0o600), { path: '/etc/ssh/ssh_host_dsa_key', missing: true, error: 'ENOENT' }), 'ok', /1 host/],
  ['none at all', keys({ path: '/etc/ssh/ssh_host_rsa_key', missing: true, error: 'ENOENT' }), 'fail', /no host private key/, /ssh-keygen -A/],
  ['not root skips', (f) => (f.isRoot = false), 'skip'],
]);

table('state-dir', checkStateDir, [
  ['root 0755', () => {}, 'ok'],
  ['missing', (f) => (f.stateDir = { path: '/var/lib/iam-ssh', missing: true, error: 'ENOENT' }), 'warn', /does not exist yet/],
  ['world-writable', (f) => (f.stateDir = dir('/var/lib/iam-ssh', 0o777)), 'fail', /0777/, /chmod 0755/],
  ['owned by a user', (f) => (f.stateDir = dir('/var/lib/iam-ssh', 0o755, 1000)), 'fail', /uid 1000/],
  ['a symlink', (f) => (f.stateDir = { ...dir('/var/lib/iam-ssh', 0o777), kind: 'symlink' } as PathFact), 'fail', /not a directory/],
]);

table('cache-dir', checkCacheDir, [
  ['0700 command user', () => {}, 'ok', /private to iam-ssh/],
  ['missing', (f) => (f.cacheDir = { path: '/var/cache/iam-ssh', missing: true, error: 'ENOENT' }), 'fail', /does not exist/, /install -d -o iam-ssh -m 0700/],
  ['owned by root', (f) => (f.cacheDir = dir('/var/cache/iam-ssh', 0o700, 0)), 'fail', /not iam-ssh/, /chown iam-ssh/],
  ['world-writable', (f) => (f.cacheDir = dir('/var/cache/iam-ssh', 0o777, 998)), 'fail', /plant/],
  ['readable by others', (f) => (f.cacheDir = dir('/var/cache/iam-ssh', 0o755, 998)), 'warn', /can read/],
  ['file mode: any owner', (f) => { f.keysMode = 'file'; f.cacheDir = dir('/var/cache/iam-ssh', 0o700, 0); }, 'ok'],
  // Nobody to be private to: never "private to iam-ssh" about a directory iam-ssh cannot own.
  ['command user missing, directory root\'s', (f) => { f.commandUser.entry = null; f.cacheDir = dir('/var/cache/iam-ssh', 0o700, 0); },
    'fail', /^\/var\/cache\/iam-ssh is owned by root, and the command user iam-ssh does not exist: keys cannot cache/, /useradd .* iam-ssh && chown iam-ssh \/var\/cache\/iam-ssh/],
  ['command user missing, directory another uid\'s', (f) => { f.commandUser.entry = null; f.cacheDir = dir('/var/cache/iam-ssh', 0o700, 998); },
    'fail', /owned by uid 998, and the command user iam-ssh does not exist/],
  ['command user missing, directory missing', (f) => { f.commandUser.entry = null; f.cacheDir = { path: '/var/cache/iam-ssh', missing: true, error: 'ENOENT' }; },
    'fail', /does not exist/, /useradd .* iam-ssh && install -d -o iam-ssh -m 0700/],
  ['command user root, directory root\'s', (f) => { f.commandUser.entry = { name: 'root', uid: 0, gids: [0] }; f.commandUser.name = 'root'; f.cacheDir = dir('/var/cache/iam-ssh', 0o700, 0); }, 'ok', /private to root/],
]);

test('runChecks gives every check its id, in order, once', () => {
  const results = runChecks(healthyFacts());
  expect(results.map((r) => r.id)).toEqual(CHECKS.map((c) => c.id));
  expect(new Set(results.map((r) => r.id)).size).toBe(results.length);
  expect(results.filter((r) => r.status === 'fail')).toEqual([]);
});

test('an added check runs with the others', () => {
  const extra = { id: 'extra', run: () => ({ status: 'warn' as const, summary: 'x' }) };
  expect(runChecks(healthyFacts(), [...CHECKS, extra]).at(-1)).toEqual({ id: 'extra', status: 'warn', summary: 'x' });
});
