/**
 * `doctor` reports KEYS_CHAIN_COMMAND (the vendor's AuthorizedKeysCommand that keys runs after
 * its own lookup) and judges its program as keys does before running it (keys/chain.ts), so
 * that a chain keys would refuse shows here, not as a silent `keys.chain_refused` at login.
 */
import type { CheckResult, DoctorFacts, PathFact, Status } from './facts';

type Result = Omit<CheckResult, 'id'>;
type Present = Extract<PathFact, { missing: false }>;
const r = (status: Status, summary: string, fix?: string): Result => (fix ? { status, summary, fix } : { status, summary });
const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

export function checkKeysChain(f: DoctorFacts): Result {
  const c = f.chain;
  if (!c) return r('skip', 'KEYS_CHAIN_COMMAND is not set: keys prints IAM keys only');
  if (f.keysMode === 'file') {
    return r('warn', `KEYS_CHAIN_COMMAND is set, but with KEYS_MODE=file sshd does not run keys: ${c.command} is not chained`, `remove KEYS_CHAIN_COMMAND from ${f.config.file ?? 'the config file'}, and give the vendor's AuthorizedKeysCommand back to sshd`);
  }
  const p = c.path;
  const fixChain = `correct KEYS_CHAIN_COMMAND in ${f.config.file ?? 'the config file'}`;
  if (p.resolved === null || p.chain.length === 0) return r('fail', `keys chains ${c.command}, but ${p.program} does not exist (${p.error ?? 'not found'}): nothing is chained`, fixChain);
  const [file, ...dirs] = p.chain;
  if (!file || file.missing || file.kind !== 'file') return r('fail', `${p.resolved} is not a regular file: keys refuses to run it`, fixChain);
  if (p.resolved === f.selfPath || f.commandPath?.resolved === p.resolved) return r('fail', `${p.program} is iam-ssh itself: keys refuses to start itself`, fixChain);
  for (const x of p.chain) {
    if (x.missing) return r('fail', `${x.path} cannot be read (${x.error}): keys refuses to run ${p.resolved}`);
    const why = unsafeOwnership(x);
    if (why) return r('fail', `${x.path} ${why}: keys refuses to run it, as sshd would`, `chown root:root ${x.path} && chmod ${octal(x.mode & ~0o022)} ${x.path}`);
  }
  if ((file.mode & 0o111) === 0) return r('fail', `${p.resolved} is not executable: keys cannot run it`, `chmod 0755 ${p.resolved}`);
  const user = f.commandUser.entry;
  if (user) {
    for (const d of dirs as Present[]) {
      if (!mayExecute(d, user)) return r('fail', `${user.name} cannot enter ${d.path} (mode ${octal(d.mode)}): keys cannot run ${p.resolved}`, `chmod o+x ${d.path}`);
    }
    if (!mayExecute(file, user)) return r('fail', `${user.name} cannot execute ${p.resolved} (mode ${octal(file.mode)})`, `chmod 0755 ${p.resolved}`);
  }
  return r('ok', `keys chains ${c.command} after IAM's keys: ${p.resolved} and the ${dirs.length} directories above it are root-owned and not writable by others`);
}

/** sshd's rule: owned by root, and neither its group nor others may write it. */
function unsafeOwnership(p: Present): string | null {
  if (p.uid !== 0) return `is owned by uid ${p.uid}, not root`;
  if (p.mode & 0o022) return `has mode ${octal(p.mode)} (writable by ${p.mode & 0o002 ? 'everyone' : 'its group'})`;
  return null;
}

/** The kernel's rule for the execute (search) bit: owner's bits, else the group's, else the others'. */
function mayExecute(p: Present, user: { uid: number; gids: number[] }): boolean {
  if (user.uid === 0) return p.kind === 'dir' || (p.mode & 0o111) !== 0;
  const bits = p.uid === user.uid ? (p.mode >> 6) & 7 : user.gids.includes(p.gid) ? (p.mode >> 3) & 7 : p.mode & 7;
  return (bits & 1) === 1;
}

export const chainChecks = [{ id: 'keys-chain', run: checkKeysChain }];
