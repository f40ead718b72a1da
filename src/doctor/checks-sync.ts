/** `doctor` checks that sync runs on a schedule and that its last run succeeded recently. */
import type { CheckResult, DoctorFacts, Status } from './facts';

type Result = Omit<CheckResult, 'id'>;
const r = (status: Status, summary: string, fix?: string): Result => (fix ? { status, summary, fix } : { status, summary });

export function checkSchedule(f: DoctorFacts): Result {
  const s = f.schedule;
  if (s.kind === 'none') return r('skip', s.reason);
  if (s.kind === 'systemd') {
    const enabled = s.enabled === 'enabled' || s.enabled === 'enabled-runtime' || s.enabled === 'static';
    if (enabled && s.active === 'active') return r('ok', `${s.unit} is enabled and active`);
    return r('fail', `${s.unit} is ${s.enabled || 'unknown'} and ${s.active || 'unknown'}: sync does not run`, `systemctl enable --now ${s.unit}  # or iam-ssh install`);
  }
  const file = s.file;
  if (file.missing) return r('fail', `no systemd, and ${file.path} does not exist: sync does not run`, `iam-ssh install  # writes ${file.path}`);
  // cron skips a file in cron.d that is not root-owned or is writable by group or others.
  if (file.uid !== 0 || file.mode & 0o022) return r('fail', `cron ignores ${file.path}: not root-owned or writable by others`, `chown root:root ${file.path} && chmod 0644 ${file.path}`);
  const runsSync = (s.content ?? '').split('\n').some((l) => !l.trim().startsWith('#') && /iam-ssh\S*\s+sync\b/.test(l));
  if (!runsSync) return r('fail', `${file.path} has no line that runs "iam-ssh sync"`, `iam-ssh install  # rewrites ${file.path}`);
  return r('ok', `cron runs sync from ${file.path}`);
}

export function checkLastSync(f: DoctorFacts): Result {
  const last = f.lastSync;
  if (last === 'absent') return r('warn', 'sync has not recorded a run on this host yet', 'iam-ssh sync --dry-run && iam-ssh sync');
  if (last === 'invalid') return r('warn', 'the record of the last sync is unreadable', 'iam-ssh sync  # rewrites it');
  const ageMs = f.now - Date.parse(last.time);
  const ago = ageMs < 0 ? 'in the future (clock moved back?)' : `${formatAge(ageMs)} ago`;
  const journal = f.schedule.kind === 'systemd' ? `journalctl -u iam-ssh-sync.service` : 'iam-ssh sync  # and read its error lines';
  if (last.exitCode === 2) return r('fail', `the last sync (${ago}) stopped on a config or usage error`, journal);
  if (last.exitCode !== 0 && last.exitCode !== 3) {
    const why = last.complete ? `${last.failures} changes failed` : 'IAM could not be read completely';
    return r('fail', `the last sync (${ago}) failed with exit ${last.exitCode}: ${why}`, journal);
  }
  if (ageMs > 3 * f.syncIntervalMs) return r('fail', `the last sync ran ${ago}, more than 3 intervals of ${formatAge(f.syncIntervalMs)}`, journal);
  // A failure, not a warning: until someone decides, users who left IAM keep their accounts.
  if (last.exitCode === 3) {
    return r('fail', `the last sync (${ago}) refused to remove accounts (MAX_REMOVALS or the empty-result guard): users who left IAM keep their accounts`,
      'iam-ssh sync --dry-run  # read the removals, then iam-ssh sync --force if they are meant, or fix IAM or MAX_REMOVALS');
  }
  return r('ok', `the last sync succeeded ${ago} (${last.changes} changes, ${last.durationMs} ms)`);
}

export function formatAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

export const syncChecks = [
  { id: 'sync-schedule', run: checkSchedule },
  { id: 'last-sync', run: checkLastSync },
];
