/**
 * Taking over from aws-ec2-ssh: the scan of what it left on the host (read by install and by
 * doctor alike), moving its schedule aside into STATE_DIR before iam-ssh's first sync, and
 * waiting for a run of its import_users.sh that already started. Its import_users.sh deletes
 * every account of the marker group that it does not find in IAM under its own name mapping,
 * with `userdel --remove`: it must never run beside iam-ssh's sync.
 */
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { statePath } from '../state/paths';
import { LEGACY_CONFIG } from '../config/load';
import { errnoText, isMissing } from '../util/errno';
import { cronSchedule, keptName, keptNames, legacySshdLines, markedSshdLines, LEGACY_CRON_FILE, LEGACY_SCRIPTS, OTHER_CRONTABS, type LegacySchedule, type LegacyScan } from './legacy-text';
import type { InstallHost } from './host';

export interface LegacyPlaces {
  stateDir: string;
  sshdConfig: string;
  /** The rest default to where aws-ec2-ssh and cron really keep them (tests point them elsewhere). */
  cronFile?: string;
  cronDir?: string;
  otherCrontabs?: string[];
  scripts?: string[];
  configFile?: string;
}

export function keptDir(stateDir: string): string {
  return statePath(stateDir, 'legacyCronDir');
}

/** Names that cron skips in its directory (dot files, editor and package-manager leftovers). */
function cronReads(name: string): boolean {
  return !name.startsWith('.') && !name.endsWith('~') && !/\.(rpmsave|rpmorig|rpmnew|dpkg-old|dpkg-dist|dpkg-new|swp)$/.test(name);
}

/** Reads what aws-ec2-ssh left; changes nothing. */
export function scanLegacy(p: LegacyPlaces): LegacyScan {
  const cronFile = p.cronFile ?? LEGACY_CRON_FILE;
  const cronDir = p.cronDir ?? '/etc/cron.d';
  const unreadable: string[] = [];
  const read = (path: string): string | null => {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      if (!isMissing(e)) unreadable.push(`${path} (${errnoText(e)})`);
      return null;
    }
  };
  const schedules: LegacySchedule[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(cronDir).filter(cronReads).sort();
  } catch (e) {
    if (!isMissing(e)) unreadable.push(`${cronDir} (${errnoText(e)})`);
  }
  const crontabs = [...names.map((n) => join(cronDir, n)), ...(p.otherCrontabs ?? OTHER_CRONTABS)];
  if (!crontabs.includes(cronFile)) crontabs.unshift(cronFile);
  for (const path of crontabs) {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) continue;
    const text = read(path);
    const s = text === null ? null : cronSchedule(path, text, path === cronFile && st.isFile());
    if (s) schedules.push(s);
  }
  const dir = keptDir(p.stateDir);
  let kept: string[] = [];
  try {
    kept = keptNames(readdirSync(dir)).map((n) => join(dir, n));
  } catch (e) {
    if (!isMissing(e)) unreadable.push(`${dir} (${errnoText(e)})`);
  }
  const sshdText = read(p.sshdConfig) ?? '';
  const configFile = p.configFile ?? LEGACY_CONFIG;
  return {
    schedules,
    keptDir: dir,
    kept,
    scripts: (p.scripts ?? LEGACY_SCRIPTS).filter((s) => existsSync(s)),
    config: existsSync(configFile) ? configFile : null,
    sshd: { path: p.sshdConfig, lines: legacySshdLines(sshdText), marked: markedSshdLines(sshdText) },
    unreadable,
  };
}

/**
 * Moves aws-ec2-ssh's cron file into STATE_DIR (cron reads nothing there), keeping its bytes,
 * mode and owner. A copy already kept with the same bytes is reused; one that differs is kept
 * too, under the next number. Returns the moves, for the manifest.
 */
export function moveScheduleAside(host: InstallHost, scan: LegacyScan): { from: string; to: string }[] {
  const moves: { from: string; to: string }[] = [];
  for (const s of scan.schedules) {
    if (!s.movable) throw new Error(`${s.path} is not aws-ec2-ssh's own cron file: not moved`);
    const bytes = readFileSync(s.path);
    const same = scan.kept.find((k) => sameBytes(k, bytes));
    let to = same;
    for (let n = scan.kept.length + 1; to === undefined; n++) {
      const candidate = join(scan.keptDir, keptName(n));
      if (!existsSync(candidate)) to = candidate;
    }
    host.mkdir(scan.keptDir, 0o700, { uid: 0, gid: 0 });
    host.moveFile(s.path, to);
    moves.push({ from: s.path, to });
  }
  return moves;
}

function sameBytes(path: string, bytes: Buffer): boolean {
  try {
    return readFileSync(path).equals(bytes);
  } catch {
    return false;
  }
}

/** Processes running aws-ec2-ssh's import_users.sh: as the program, or as a shell's script. */
export function runningImports(procDir = '/proc'): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(procDir);
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^[1-9][0-9]*$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(join(procDir, entry, 'cmdline'), 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const [first = '', second = ''] = argv;
    const script = basename(first) === 'import_users.sh' || (/^(ba|da)?sh$/.test(basename(first)) && basename(second) === 'import_users.sh');
    if (script) pids.push(Number(entry));
  }
  return pids.sort((a, b) => a - b);
}

export interface WaitOptions {
  procDir?: string;
  timeoutMs?: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * A run of import_users.sh that cron started before its file was moved may still be deleting
 * and creating accounts: iam-ssh's first sync waits for it. Throws when it outlasts the timeout
 * (its own interval: a run that long overlaps itself anyway).
 */
export async function waitForImports(host: InstallHost, out: (line: string) => void, o: WaitOptions = {}): Promise<void> {
  const procDir = o.procDir ?? '/proc';
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const timeoutMs = o.timeoutMs ?? 10 * 60_000;
  let pids = runningImports(procDir);
  if (pids.length === 0) return;
  out(`  ${host.dryRun ? 'would wait' : 'waiting'} for aws-ec2-ssh's import_users.sh (pid ${pids.join(', ')}) to finish before iam-ssh's first sync`);
  if (host.dryRun) return;
  const until = now() + timeoutMs;
  while (pids.length > 0) {
    if (now() >= until) {
      throw new Error(`aws-ec2-ssh's import_users.sh (pid ${pids.join(', ')}) still runs after ${Math.round(timeoutMs / 1000)} s: iam-ssh's first sync did not start; run install again once it has finished`);
    }
    await sleep(o.pollMs ?? 1000);
    pids = runningImports(procDir);
  }
}
