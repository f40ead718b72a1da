/** doctor's legacy-schedule check, from tables of facts. */
import { checkLegacySchedule } from '../../../src/doctor/checks-legacy';
import { CHECKS } from '../../../src/doctor/checks';
import { cronSchedule, legacySshdLines } from '../../../src/install/legacy-text';
import type { DoctorFacts } from '../../../src/doctor/facts';
import { healthyFacts } from '../../helpers/doctor-fixtures';

const OWN = cronSchedule('/etc/cron.d/import_users', 'MAILTO=root\n*/10 * * * * root /opt/import_users.sh\n', true)!;
const CRONTAB = cronSchedule('/etc/crontab', '*/10 * * * * root /usr/bin/import_users.sh\n', false)!;

const cases: [string, (f: DoctorFacts) => void, string, RegExp, RegExp?][] = [
  ['nothing of aws-ec2-ssh', () => {}, 'ok', /no schedule of aws-ec2-ssh found/],
  ['taken over: its cron file kept', (f) => (f.legacy.kept = ['/var/lib/iam-ssh/aws-ec2-ssh/import_users']), 'ok', /kept at \/var\/lib\/iam-ssh\/aws-ec2-ssh\/import_users/],
  ['its cron file is scheduled', (f) => (f.legacy.schedules = [OWN]), 'fail', /still scheduled \(\/etc\/cron.d\/import_users:2\).*userdel --remove/, /^iam-ssh install .*mv \/etc\/cron.d\/import_users \/var\/lib\/iam-ssh\/aws-ec2-ssh\/import_users/],
  ['scheduled again beside a kept copy', (f) => { f.legacy.schedules = [OWN]; f.legacy.kept = ['/var/lib/iam-ssh/aws-ec2-ssh/import_users']; }, 'fail', /still scheduled/, /iam-ssh install/],
  ['scheduled in /etc/crontab: the line is named', (f) => (f.legacy.schedules = [OWN, CRONTAB]), 'fail', /\/etc\/crontab:1/, /delete the line\(s\) \/etc\/crontab:1, then run iam-ssh install/],
  ['its sshd lines still active', (f) => (f.legacy.sshd.lines = legacySshdLines('AuthorizedKeysCommand /opt/authorized_keys_command.sh\nAuthorizedKeysCommandUser nobody\n')), 'warn', /\/etc\/ssh\/sshd_config:1, \/etc\/ssh\/sshd_config:2/, /iam-ssh install/],
  ['a crontab root could not read', (f) => (f.legacy.unreadable = ['/var/spool/cron/crontabs/root (EACCES)']), 'warn', /could not read \/var\/spool\/cron\/crontabs\/root/],
  ['the same, not root', (f) => { f.isRoot = false; f.legacy.unreadable = ['/var/spool/cron/crontabs/root (EACCES)']; }, 'skip', /could not read/, /sudo/],
  ['a schedule found even when another place is unreadable', (f) => { f.legacy.unreadable = ['/var/spool/cron/root (EACCES)']; f.legacy.schedules = [OWN]; }, 'fail', /still scheduled/],
];

test.each(cases.map(([title, change, status, summary, fix]) => ({ title, change, status, summary, fix })))('$title', ({ change, status, summary, fix }) => {
  const f = healthyFacts();
  change(f);
  const res = checkLegacySchedule(f);
  expect(res.status).toBe(status);
  expect(res.summary).toMatch(summary);
  if (fix) expect(res.fix).toMatch(fix);
});

test('doctor runs it', () => {
  expect(CHECKS.map((c) => c.id)).toContain('legacy-schedule');
});
