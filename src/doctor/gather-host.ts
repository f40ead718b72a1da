/**
 * The host facts of `doctor`, read without changing anything: file ownership and modes,
 * sshd's effective configuration (`sshd -T`), the command user, the sync schedule.
 */
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { PROBE_USER, readSshdService, SshdControl, sshdProgram } from '../platform/sshd';
import { CRON_FILE, TIMER_UNIT, systemdRunning } from '../install/scheduler';
import { scanLegacy } from '../install/legacy';
import { DEFAULT_SSHD_CONFIG } from '../install/sshd-edits';
import type { LegacyScan } from '../install/legacy-text';
import { dirname, join } from 'node:path';
import type { Config } from '../config/config';
import { type PathFact, type ScheduleFact, type SshdFact, type SshdServiceFact, type SshdSettings, type UserFact } from './facts';
import { readSyncState } from '../state/sync-state';
import type { Exec } from '../platform/exec';
import { errnoText } from '../util/errno';
import { isLocalNameSyntax } from '../util/validators';


function fact(path: string, st: Stats): PathFact {
  const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return { path, missing: false, kind, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

/** lstat: a symlink is reported as one, not followed. */
export function statPath(path: string): PathFact {
  try {
    return fact(path, lstatSync(path));
  } catch (e) {
    return { path, missing: true, error: errnoText(e) };
  }
}

/** stat that follows links, for files whose target is what matters. */
function statTarget(path: string): PathFact {
  try {
    return fact(path, statSync(path));
  } catch (e) {
    return { path, missing: true, error: errnoText(e) };
  }
}

/** The program resolved as sshd resolves it (realpath), then every directory above it up to /. */
export function pathChain(program: string): { program: string; resolved: string | null; error: string | null; chain: PathFact[] } {
  let resolved: string;
  try {
    resolved = realpathSync(program);
  } catch (e) {
    return { program, resolved: null, error: errnoText(e), chain: [] };
  }
  const chain: PathFact[] = [];
  for (let p = resolved; ; p = dirname(p)) {
    chain.push(statPath(p));
    if (p === dirname(p)) break;
  }
  return { program, resolved, error: null, chain };
}

export async function readSshd(exec: Exec, stateDir: string): Promise<SshdFact> {
  const sshd = sshdProgram();
  if (!sshd) return { ran: false, reason: 'no sshd program found' };
  // Match blocks decide per user; evaluate them for a user sync manages, as a login would.
  const synced = readSyncState(stateDir)?.users.map((u) => u.localName).find((n) => isLocalNameSyntax(n));
  const probeUser = synced ?? PROBE_USER;
  // As the service starts it: a -o of its unit (Ubuntu's EC2 Instance Connect) beats every config file.
  let service: SshdServiceFact | undefined;
  let argv = { configFile: null as string | null, options: [] as string[] };
  try {
    const s = await readSshdService(exec, systemdRunning());
    if (s) [service, argv] = [{ unit: s.unit, options: s.argv.options }, s.argv];
  } catch (e) {
    service = { error: (e as Error).message };
  }
  try {
    const r = await new SshdControl(exec, sshd).report(probeUser, argv.configFile, argv.options);
    return { ran: true, exitCode: r.exitCode, stderr: r.stderr, probeUser, settings: Object.fromEntries(r.settings), ...(service ? { service } : {}) };
  } catch (e) {
    return { ran: false, reason: (e as Error).message };
  }
}

export async function readUser(exec: Exec, name: string): Promise<UserFact | null> {
  if (!isLocalNameSyntax(name)) return null;
  const pw = await exec('getent', ['passwd', name]);
  if (pw.exitCode !== 0) return null;
  const uid = Number(pw.stdout.split(':')[2]);
  const ids = await exec('id', ['-G', name]);
  const gids = ids.exitCode === 0 ? ids.stdout.trim().split(/\s+/).map(Number).filter(Number.isInteger) : [Number(pw.stdout.split(':')[3])];
  return Number.isInteger(uid) ? { name, uid, gids } : null;
}

/**
 * sshd's HostKey list. Without it (sshd -T failed, often because of a bad key), the usual
 * files and every key sshd said it could not load.
 */
export async function readHostKeys(exec: Exec, settings: SshdSettings, sshdStderr: string): Promise<PathFact[]> {
  let paths = settings.hostkey ?? [];
  if (paths.length === 0) {
    try {
      paths = readdirSync('/etc/ssh').filter((n) => /^ssh_host_.*_key$/.test(n)).map((n) => join('/etc/ssh', n));
    } catch {
      paths = [];
    }
    for (const m of sshdStderr.matchAll(/Unable to load host key: (\/\S+)/g)) paths.push(m[1]!);
    paths = [...new Set(paths)];
  }
  const out: PathFact[] = [];
  for (const p of paths) {
    const f = statTarget(p);
    // Red Hat's group ssh_keys may read host keys; only its name tells it apart.
    if (!f.missing && f.gid !== 0 && f.mode & 0o070) {
      const g = await exec('getent', ['group', String(f.gid)]);
      if (g.exitCode === 0) f.groupName = g.stdout.split(':')[0];
    }
    out.push(f);
  }
  return out;
}

export async function readSchedule(exec: Exec): Promise<ScheduleFact> {
  if (systemdRunning()) {
    const enabled = await exec('systemctl', ['is-enabled', TIMER_UNIT]);
    const active = await exec('systemctl', ['is-active', TIMER_UNIT]);
    return { kind: 'systemd', unit: TIMER_UNIT, enabled: enabled.stdout.trim(), active: active.stdout.trim() };
  }
  if (existsSync(dirname(CRON_FILE))) {
    const file = statTarget(CRON_FILE);
    let content: string | null;
    try {
      content = file.missing ? null : readFileSync(CRON_FILE, 'utf8').slice(0, 65_536);
    } catch {
      content = null;
    }
    return { kind: 'cron', file, content };
  }
  return { kind: 'none', reason: `systemd is not running and there is no ${dirname(CRON_FILE)}: nothing here schedules sync` };
}

/** aws-ec2-ssh's schedule, scripts and sshd lines, through install's own scan. */
export function readLegacy(stateDir: string): LegacyScan {
  return scanLegacy({ stateDir, sshdConfig: DEFAULT_SSHD_CONFIG });
}

export function configStat(config: Config): PathFact | null {
  return config.file === null ? null : statTarget(config.file);
}
