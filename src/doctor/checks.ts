/**
 * The host checks of `doctor`: pure functions from gathered facts to results. CHECKS is the
 * list `doctor` runs, in order; a feature adds its own check by adding an entry.
 */
import { basename } from 'node:path';
import { authorizedKeysFilePattern } from '../keys/file-mode';
import { DROP_IN_NAME } from '../platform/sshd-config';
import { type CheckResult, type DoctorFacts, type PathFact, type SshdSettings, type Status } from './facts';
import { AWS_CHECKS } from './checks-aws';
import { checkJournaldCap, checkLogSpace } from './checks-logs';
import { syncChecks } from './checks-sync';
import { snapshotChecks } from './checks-snapshot';
import { legacyChecks } from './checks-legacy';
import { chainChecks } from './checks-chain';
import { COMMAND_USER } from '../platform/sshd-config';
import { isLocalNameSyntax } from '../util/validators';

export interface Check {
  id: string;
  run(facts: DoctorFacts): Omit<CheckResult, 'id'>;
}

const r = (status: Status, summary: string, fix?: string): Omit<CheckResult, 'id'> => (fix ? { status, summary, fix } : { status, summary });
const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');
const NEEDS_ROOT = 'doctor is not running as root; run it with sudo';

export function checkRoot(f: DoctorFacts): Omit<CheckResult, 'id'> {
  return f.isRoot ? r('ok', 'running as root') : r('warn', 'not running as root: sshd, host key and account checks are skipped', 'sudo iam-ssh doctor');
}

export function checkConfigFile(f: DoctorFacts): Omit<CheckResult, 'id'> {
  const { file, error, stat } = f.config;
  if (error) return r('fail', `config: ${error}`, 'correct the named line; see docs/configuration.md');
  if (file === null) {
    // Not an error: the built-in defaults are a valid config. Say which files were looked for and what follows.
    const looked = f.config.searched?.length ? `no ${f.config.searched.join(' or ')}` : 'no config file';
    const everyone = f.aws?.groups.some((g) => g.group === '*') ? '; IAM_AUTHORIZED_GROUPS is empty, so every IAM user of the account may log in' : '';
    return r('warn', `${looked}: built-in defaults apply${everyone}`, 'iam-ssh install --authorized-groups GROUP,...  # or write IAM_AUTHORIZED_GROUPS to /etc/iam-ssh.conf (docs/configuration.md)');
  }
  if (!stat || stat.missing) return r('fail', `${file} cannot be read`);
  const unsafe = unsafeOwnership(stat);
  if (unsafe) return r('fail', `${file} ${unsafe}: whoever can write it decides who logs in`, `chown root:root ${file} && chmod 0644 ${file}`);
  return r('ok', `${file} is root-owned and not writable by others`);
}

export function checkSshdConfig(f: DoctorFacts): Omit<CheckResult, 'id'> {
  if (!f.isRoot) return r('skip', NEEDS_ROOT);
  if (!f.sshd.ran) return r('fail', `sshd -T could not run: ${f.sshd.reason}`, 'install openssh-server');
  if (f.sshd.exitCode !== 0) {
    return r('fail', `sshd -T rejects the configuration: ${sshdComplaint(f.sshd.stderr)}`, sshdFix(f.sshd.stderr));
  }
  const svc = f.sshd.service;
  if (svc && 'error' in svc) {
    return r('warn', `sshd -T accepts the configuration (evaluated for user ${f.sshd.probeUser}), but its unit could not be read: ${svc.error}; -o options it may pass are not counted`, 'systemctl cat ssh.service sshd.service  # then correct the ExecStart line');
  }
  const started = svc ? `, as ${svc.unit} starts it${svc.options.length ? `, with its ${svc.options.length} -o options` : ''}` : '';
  return r('ok', `sshd -T accepts the configuration (evaluated for user ${f.sshd.probeUser}${started})`);
}

function sshdFix(stderr: string): string {
  const dir = /Missing privilege separation directory: (\S+)/.exec(stderr)?.[1];
  if (dir) return `mkdir -p -m 0755 ${dir}  # systemd's ssh.service creates it at start`;
  if (/UNPROTECTED PRIVATE KEY|bad permissions/.test(stderr)) return 'see the host-keys check';
  return 'sshd -t  # then correct the line it names';
}

/** The lines of sshd's stderr that say what is wrong, without its banner of @ signs. */
export function sshdComplaint(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^@+$/.test(l) && !/^@.*@$/.test(l));
  return lines.slice(0, 3).join('; ') || 'no message';
}

export function checkKeysCommand(f: DoctorFacts): Omit<CheckResult, 'id'> {
  if (!f.sshd.ran || f.sshd.exitCode !== 0) return r('skip', 'needs the effective sshd configuration (see sshd-config)');
  const s = f.sshd.settings;
  if (f.keysMode === 'file') {
    const pattern = authorizedKeysFilePattern(f.keysFileDir);
    const files = s.authorizedkeysfile?.[0]?.split(/\s+/) ?? [];
    return files.includes(pattern)
      ? r('ok', `sshd reads ${pattern} (KEYS_MODE=file)`)
      : r('fail', `KEYS_MODE=file but sshd's AuthorizedKeysFile is "${files.join(' ')}"`, `iam-ssh install --keys-mode file  # or AuthorizedKeysFile ${pattern} .ssh/authorized_keys in /etc/ssh/sshd_config.d/${DROP_IN_NAME}`);
  }
  const wanted = `iam-ssh install  # or AuthorizedKeysCommand /usr/local/bin/iam-ssh keys %u %f + AuthorizedKeysCommandUser iam-ssh in /etc/ssh/sshd_config.d/${DROP_IN_NAME}, ahead of any other`;
  const command = s.authorizedkeyscommand?.[0] ?? 'none';
  if (command === 'none') return r('fail', 'sshd runs no AuthorizedKeysCommand: IAM users cannot log in', wanted);
  const words = command.split(/\s+/);
  const program = words[0] ?? '';
  if (!isOurProgram(program, f.selfPath)) {
    // A -o of sshd's unit (Ubuntu's EC2 Instance Connect) beats any file an operator could add.
    const svc = f.sshd.service;
    const unit = svc && 'options' in svc && svc.options.some((o) => /^\s*authorizedkeyscommand[\s=]/i.test(o)) ? svc.unit : null;
    if (unit) return r('fail', `sshd runs another AuthorizedKeysCommand (${program}), passed with -o by ${unit}'s ExecStart; it uses the first one it reads`, `iam-ssh install  # adds a drop-in for ${unit} without that -o, and chains the command (KEYS_CHAIN_COMMAND)`);
    return r('fail', `sshd runs another AuthorizedKeysCommand (${program}); it uses the first one it reads`, wanted);
  }
  if (words[1] !== 'keys' || !words.includes('%u')) return r('fail', `AuthorizedKeysCommand "${command}" does not pass "keys %u"`, wanted);
  if ((s.authorizedkeyscommanduser?.[0] ?? 'none') === 'none') {
    return r('fail', 'AuthorizedKeysCommandUser is not set: sshd refuses to run the command', wanted);
  }
  return r('ok', `AuthorizedKeysCommand is ours: ${command}`);
}

function isOurProgram(program: string, selfPath: string): boolean {
  return program === selfPath || basename(program) === 'iam-ssh';
}

/** sshd's rule for the command (and each directory above it): root-owned, not group- or world-writable. */
export function checkBinaryPath(f: DoctorFacts): Omit<CheckResult, 'id'> {
  const c = f.commandPath;
  if (f.keysMode === 'file') return r('skip', 'KEYS_MODE=file: sshd runs no command');
  if (!c) return r('skip', 'no AuthorizedKeysCommand of ours to check');
  if (!c.program.startsWith('/')) return r('fail', `AuthorizedKeysCommand ${c.program} is not an absolute path`, 'give the absolute path, e.g. /usr/local/bin/iam-ssh');
  if (c.resolved === null || c.chain.length === 0) return r('fail', `${c.program} does not exist (${c.error ?? 'not found'})`, 'iam-ssh install  # or point AuthorizedKeysCommand at the installed binary');
  const [file, ...dirs] = c.chain;
  if (!file || file.missing || file.kind !== 'file') return r('fail', `${c.resolved} is not a regular file`);
  for (const p of c.chain) {
    if (p.missing) return r('fail', `${p.path} cannot be read (${p.error})`);
    const unsafe = unsafeOwnership(p);
    if (unsafe) {
      const mode = p.kind === 'dir' ? octal(p.mode & ~0o022) : '0755';
      return r('fail', `${p.path} ${unsafe}: sshd refuses to run ${c.resolved}`, `chown root:root ${p.path} && chmod ${mode} ${p.path}  # or install the binary under /usr/local/bin`);
    }
  }
  return r('ok', `${c.resolved} and the ${dirs.length} directories above it are root-owned and not writable by others`);
}

/** Why a path that sshd or cron trusts is unsafe, or null: not owned by root, or group/world-writable. */
function unsafeOwnership(p: Extract<PathFact, { missing: false }>): string | null {
  if (p.uid !== 0) return `is owned by uid ${p.uid}, not root`;
  if (p.mode & 0o022) return `has mode ${octal(p.mode)} (writable by ${p.mode & 0o002 ? 'everyone' : 'its group'})`;
  return null;
}

export function checkCommandUser(f: DoctorFacts): Omit<CheckResult, 'id'> {
  if (f.keysMode === 'file') return r('skip', 'KEYS_MODE=file: sshd runs no command');
  const { name, entry } = f.commandUser;
  const create = `${createCommandUser(name)}  # or iam-ssh install`;
  if (!entry) return r('fail', `the AuthorizedKeysCommandUser ${name} does not exist: sshd cannot run the command`, create);
  if (entry.uid === 0) return r('warn', `the AuthorizedKeysCommandUser ${name} is root`, `run the command as the locked system user ${COMMAND_USER}`);
  const c = f.commandPath;
  if (!c || c.resolved === null || c.chain.some((p) => p.missing)) return r('ok', `${name} exists (uid ${entry.uid})`);
  const [file, ...dirs] = c.chain;
  for (const d of dirs) {
    if (!d.missing && !mayAccess(d, entry, 0o1)) return r('fail', `${name} cannot enter ${d.path} (mode ${octal(d.mode)})`, `chmod o+x ${d.path}`);
  }
  if (file && !file.missing && !mayAccess(file, entry, 0o1)) {
    return r('fail', `${name} cannot execute ${file.path} (mode ${octal(file.mode)})`, `chmod 0755 ${file.path}`);
  }
  return r('ok', `${name} exists (uid ${entry.uid}) and can execute ${c.resolved}`);
}

function createCommandUser(name: string): string {
  return `useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${name}`;
}

/** The kernel's rule: the owner's bits if it owns the file, else the group's if a member, else the others'. */
export function mayAccess(p: Extract<PathFact, { missing: false }>, user: { uid: number; gids: number[] }, want: number): boolean {
  if (user.uid === 0) return want !== 0o1 || p.kind === 'dir' || (p.mode & 0o111) !== 0;
  const bits = p.uid === user.uid ? (p.mode >> 6) & 7 : user.gids.includes(p.gid) ? (p.mode >> 3) & 7 : p.mode & 7;
  return (bits & want) === want;
}

/**
 * OpenSSH ignores a private host key that others can access; a host with none left drops every
 * connection. Red Hat's sshd also accepts group read for the group ssh_keys.
 */
export function checkHostKeys(f: DoctorFacts): Omit<CheckResult, 'id'> {
  if (!f.isRoot) return r('skip', NEEDS_ROOT);
  const present = f.hostKeys.filter((k): k is Extract<PathFact, { missing: false }> => !k.missing);
  if (present.length === 0) return r('fail', 'no host private key exists: sshd cannot start', 'ssh-keygen -A');
  for (const k of present) {
    const groupOk = k.groupName === 'ssh_keys' && (k.mode & 0o070) === 0o040;
    if (k.uid !== 0 || (k.mode & 0o007) !== 0 || ((k.mode & 0o070) !== 0 && !groupOk) || k.kind !== 'file') {
      const what = k.kind !== 'file' ? `is a ${k.kind}, not a file` : k.uid !== 0 ? `is owned by uid ${k.uid}, not root` : `has mode ${octal(k.mode)}`;
      return r('fail', `host key ${k.path} ${what}: sshd ignores it (and drops connections when no key is left)`, `chown root:root ${k.path} && chmod 0600 ${k.path}`);
    }
  }
  return r('ok', `${present.length} host private keys are root-owned and private`);
}

export function checkStateDir(f: DoctorFacts): Omit<CheckResult, 'id'> {
  const d = f.stateDir;
  if (d.missing) return r('warn', `${d.path} does not exist yet (sync creates it)`, 'iam-ssh sync');
  if (d.kind !== 'dir') return r('fail', `${d.path} is not a directory`);
  const unsafe = unsafeOwnership(d);
  if (unsafe) return r('fail', `${d.path} ${unsafe}: keys trusts the user list kept there`, `chown root:root ${d.path} && chmod 0755 ${d.path}`);
  return r('ok', `${d.path} is root-owned, mode ${octal(d.mode)}`);
}

export function checkCacheDir(f: DoctorFacts): Omit<CheckResult, 'id'> {
  const d = f.cacheDir;
  const user = f.keysMode === 'file' ? null : f.commandUser;
  // Without the command user nothing here can be its own: create it first (see command-user).
  const createUser = user && !user.entry ? `${createCommandUser(user.name)} && ` : '';
  const fix = `${createUser}install -d -o ${user?.name ?? 'root'} -m 0700 ${d.path}`;
  if (d.missing) return r('fail', `${d.path} does not exist: keys caches nothing and every login calls IAM`, fix);
  if (d.kind !== 'dir') return r('fail', `${d.path} is not a directory`, fix);
  if (d.mode & 0o022) return r('fail', `${d.path} has mode ${octal(d.mode)}: others could plant cached keys`, `chmod 0700 ${d.path}`);
  if (user && !user.entry) {
    const owner = d.uid === 0 ? 'root' : `uid ${d.uid}`;
    return r('fail', `${d.path} is owned by ${owner}, and the command user ${user.name} does not exist: keys cannot cache`, `${createUser}chown ${user.name} ${d.path} && chmod 0700 ${d.path}`);
  }
  if (user?.entry && d.uid !== user.entry.uid) {
    return r('fail', `${d.path} is owned by uid ${d.uid}, not ${user.name} (uid ${user.entry.uid}): keys cannot cache`, `chown ${user.name} ${d.path} && chmod 0700 ${d.path}`);
  }
  if (d.mode & 0o077) return r('warn', `${d.path} has mode ${octal(d.mode)}: others can read whose keys are cached`, `chmod 0700 ${d.path}`);
  return r('ok', `${d.path} is private to ${user?.name ?? `uid ${d.uid}`}`);
}

export const CHECKS: Check[] = [
  { id: 'root', run: checkRoot },
  { id: 'config-file', run: checkConfigFile },
  { id: 'sshd-config', run: checkSshdConfig },
  { id: 'keys-command', run: checkKeysCommand },
  ...chainChecks,
  { id: 'binary-path', run: checkBinaryPath },
  { id: 'command-user', run: checkCommandUser },
  { id: 'host-keys', run: checkHostKeys },
  { id: 'state-dir', run: checkStateDir },
  { id: 'cache-dir', run: checkCacheDir },
  ...syncChecks,
  ...snapshotChecks,
  { id: 'log-space', run: checkLogSpace },
  { id: 'journald-cap', run: checkJournaldCap },
  ...legacyChecks,
  ...AWS_CHECKS,
];

export function runChecks(facts: DoctorFacts, checks: Check[] = CHECKS): CheckResult[] {
  return checks.map((c) => ({ id: c.id, ...c.run(facts) }));
}

/** The AuthorizedKeysCommandUser sshd names, when it is a plain local name; else the one install creates. */
export function commandUserName(settings: SshdSettings): string {
  const n = settings.authorizedkeyscommanduser?.[0];
  return n && n !== 'none' && isLocalNameSyntax(n) ? n : COMMAND_USER;
}
