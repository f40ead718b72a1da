/**
 * `doctor` checks of where login records go. On a bad day (a brute-force flood of failed
 * logins) auth lines fill the filesystem that holds the journal and /var/log; then journald
 * drops records and PAM's session records fail. journald is safe only with a size cap.
 */
import type { CheckResult, DoctorFacts, Status } from './facts';

type Result = Omit<CheckResult, 'id'>;
const r = (status: Status, summary: string, fix?: string): Result => (fix ? { status, summary, fix } : { status, summary });

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Below either of these a filesystem is nearly full: a flood fills the rest in minutes. */
const FULL_FRACTION = 0.05;
const FULL_BYTES = 64 * MiB;
const LOW_FRACTION = 0.15;
/** journald's defaults (journald.conf(5)): MaxUse 10 % and KeepFree 15 % of the filesystem, each at most 4 GiB. */
const DEFAULT_MAX_USE = 0.1;
const DEFAULT_KEEP_FREE = 0.15;
const DEFAULT_CEILING = 4 * GiB;

export function formatBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GiB`;
  return `${(n / MiB).toFixed(1)} MiB`;
}

export function checkLogSpace(f: DoctorFacts): Result {
  const space = f.logs.space;
  if (space.length === 0) return r('skip', 'no journal or /var/log directory to measure');
  const unreadable = space.filter((s) => 'error' in s);
  const measured = space.flatMap((s) => ('error' in s ? [] : [s]));
  const full = measured.filter((s) => s.availBytes < FULL_BYTES || s.availBytes < s.sizeBytes * FULL_FRACTION);
  const describe = (s: (typeof measured)[number]) => `${s.path} (${formatBytes(s.availBytes)} free of ${formatBytes(s.sizeBytes)})`;
  if (full.length > 0) {
    return r('fail', `${full.map(describe).join(', ')}: nearly full; login records (journal, wtmp, lastlog) go there and a flood of failed logins fills the rest`,
      'journalctl --vacuum-size=100M  # then cap the journal (SystemMaxUse=) and free or grow the filesystem');
  }
  const low = measured.filter((s) => s.availBytes < s.sizeBytes * LOW_FRACTION);
  if (low.length > 0) return r('warn', `${low.map(describe).join(', ')}: filling up`, 'journalctl --disk-usage; du -xsh /var/log/*  # find what grows');
  if (unreadable.length > 0) return r('warn', `cannot measure ${unreadable.map((s) => `${s.path}: ${'error' in s ? s.error : ''}`).join(', ')}`);
  return r('ok', measured.map(describe).join(', '));
}

export function checkJournaldCap(f: DoctorFacts): Result {
  const j = f.logs.journald;
  if (!j) return r('skip', 'journald is not running here');
  const fs = f.logs.space.find((s) => s.path === j.dir);
  if (!fs || 'error' in fs) return r('skip', `the filesystem of ${j.dir} could not be measured`);
  const runtime = j.dir.startsWith('/run/');
  const [maxKey, freeKey] = runtime ? ['RuntimeMaxUse', 'RuntimeKeepFree'] : ['SystemMaxUse', 'SystemKeepFree'];
  const maxUse = j.maxUse === null ? Math.min(fs.sizeBytes * DEFAULT_MAX_USE, DEFAULT_CEILING) : parseJournaldSize(j.maxUse);
  const keepFree = j.keepFree === null ? Math.min(fs.sizeBytes * DEFAULT_KEEP_FREE, DEFAULT_CEILING) : parseJournaldSize(j.keepFree);
  if (maxUse === null || keepFree === null) {
    const bad = maxUse === null ? `${maxKey}=${j.maxUse}` : `${freeKey}=${j.keepFree}`;
    return r('warn', `journald's ${bad} is not a size: journald ignores it and the cap is unknown`, `systemd-analyze cat-config systemd/journald.conf  # fix ${bad}`);
  }
  const cap = Math.min(maxUse, fs.sizeBytes - keepFree);
  const set = `${maxKey}=${j.maxUse ?? '(default)'}, ${freeKey}=${j.keepFree ?? '(default)'}`;
  if (cap >= fs.sizeBytes * (1 - FULL_FRACTION)) {
    const suggested = formatSize(Math.max(64 * MiB, Math.min(fs.sizeBytes * DEFAULT_MAX_USE, DEFAULT_CEILING)));
    return r('fail', `journald has no size cap on ${j.dir} (${set}): a flood of failed logins can fill its filesystem (${formatBytes(fs.sizeBytes)})`,
      `mkdir -p /etc/systemd/journald.conf.d && printf '[Journal]\\n${maxKey}=${suggested}\\n' > /etc/systemd/journald.conf.d/99-iam-ssh-size.conf && systemctl restart systemd-journald`);
  }
  return r('ok', `journald keeps ${j.dir} under ${formatBytes(Math.max(0, cap))} of ${formatBytes(fs.sizeBytes)} (${set})`);
}

/** A size for journald.conf, in whole MiB. */
function formatSize(bytes: number): string {
  return `${Math.floor(bytes / MiB)}M`;
}

/** journald.conf's sizes: bytes with an optional K, M, G, T, P or E (base 1024), or `infinity`; null otherwise. */
export function parseJournaldSize(text: string): number | null {
  const t = text.trim();
  if (t === 'infinity') return Infinity;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTPE]?)$/.exec(t);
  if (!m) return null;
  const power = ' KMGTPE'.indexOf(m[2] || ' ');
  return Number(m[1]) * 1024 ** power;
}

/**
 * The [Journal] settings of journald.conf and its drop-ins, given in the order systemd reads
 * them: the last assignment wins, an empty one resets the key to its default (left out).
 */
export function journaldSettings(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inJournal = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      inJournal = line === '[Journal]';
      continue;
    }
    const eq = line.indexOf('=');
    if (!inJournal || eq < 1) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (value === '') delete out[key];
    else out[key] = value;
  }
  return out;
}
