/**
 * `doctor` checks that aws-ec2-ssh no longer runs on its schedule: its import_users.sh deletes
 * the accounts of its marker group with `userdel --remove`, and must never run beside sync. It
 * judges the scan install acts on (install/legacy.ts), so that what doctor checks is what
 * install does.
 */
import { join } from 'node:path';
import { scheduleLines, KEPT_NAME, LEGACY_CRON_FILE } from '../install/legacy-text';
import type { CheckResult, DoctorFacts, Status } from './facts';

type Result = Omit<CheckResult, 'id'>;
const r = (status: Status, summary: string, fix?: string): Result => (fix ? { status, summary, fix } : { status, summary });

export function checkLegacySchedule(f: DoctorFacts): Result {
  const l = f.legacy;
  if (l.schedules.length > 0) {
    const summary = `aws-ec2-ssh's import_users.sh is still scheduled (${scheduleLines(l.schedules)}): it deletes accounts of its marker group with userdel --remove, beside iam-ssh's sync`;
    const byHand = l.schedules.filter((s) => !s.movable);
    if (byHand.length > 0) return r('fail', summary, `delete the line(s) ${scheduleLines(byHand)}, then run iam-ssh install`);
    return r('fail', summary, `iam-ssh install  # or: mkdir -p -m 0700 ${l.keptDir} && mv ${LEGACY_CRON_FILE} ${join(l.keptDir, KEPT_NAME)}`);
  }
  if (l.unreadable.length > 0) {
    const summary = `could not read ${l.unreadable.join(', ')}: a schedule of aws-ec2-ssh there would go unseen`;
    return f.isRoot ? r('warn', summary, 'check the named files by hand') : r('skip', summary, 'sudo iam-ssh doctor');
  }
  const kept = l.kept[l.kept.length - 1];
  if (l.sshd.lines.length > 0) {
    const where = l.sshd.lines.map((x) => `${l.sshd.path}:${x.line}`).join(', ');
    return r('warn', `aws-ec2-ssh is not scheduled, but its sshd lines are still active (${where}): they take effect again once iam-ssh's are gone, and win inside a Match block`, 'iam-ssh install  # comments them out');
  }
  if (kept) return r('ok', `aws-ec2-ssh is not scheduled; its cron file is kept at ${kept}`);
  return r('ok', 'no schedule of aws-ec2-ssh found');
}

export const legacyChecks = [{ id: 'legacy-schedule', run: checkLegacySchedule }];
