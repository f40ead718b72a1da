/** doctor's schedule, last-sync, AWS and clock checks, from tables of facts. */
import { checkLastSync, checkSchedule, formatAge } from '../../../src/doctor/checks-sync';
import { checkClock, checkCredentials, checkIam, checkSsm } from '../../../src/doctor/checks-aws';
import type { AwsFacts, DoctorFacts } from '../../../src/doctor/facts';
import { checkTable, file, NOW } from '../../helpers/doctor-fixtures';

const table = checkTable;

const CRON_LINE = '*/10 * * * * root /usr/local/bin/iam-ssh sync\n';
const aws = (f: DoctorFacts): AwsFacts => f.aws!;

table('sync-schedule', checkSchedule, [
  ['systemd timer enabled and active', () => {}, 'ok'],
  ['systemd timer disabled', (f) => (f.schedule = { kind: 'systemd', unit: 'iam-ssh-sync.timer', enabled: 'disabled', active: 'inactive' }), 'fail', /disabled and inactive/, /systemctl enable --now iam-ssh-sync.timer/],
  ['systemd timer not found', (f) => (f.schedule = { kind: 'systemd', unit: 'iam-ssh-sync.timer', enabled: '', active: 'inactive' }), 'fail', /unknown/],
  ['cron file runs sync', (f) => (f.schedule = { kind: 'cron', file: file('/etc/cron.d/iam-ssh', 0o644), content: `# sync\n${CRON_LINE}` }), 'ok', /cron/],
  ['cron file missing', (f) => (f.schedule = { kind: 'cron', file: { path: '/etc/cron.d/iam-ssh', missing: true, error: 'ENOENT' }, content: null }), 'fail', /does not exist/, /install/],
  ['cron file group-writable: cron skips it', (f) => (f.schedule = { kind: 'cron', file: file('/etc/cron.d/iam-ssh', 0o664), content: CRON_LINE }), 'fail', /cron ignores/, /chmod 0644/],
  ['cron file owned by a user', (f) => (f.schedule = { kind: 'cron', file: file('/etc/cron.d/iam-ssh', 0o644, 1000), content: CRON_LINE }), 'fail', /cron ignores/],
  ['cron line commented out', (f) => (f.schedule = { kind: 'cron', file: file('/etc/cron.d/iam-ssh', 0o644), content: `# ${CRON_LINE}` }), 'fail', /no line/],
  ['neither systemd nor cron', (f) => (f.schedule = { kind: 'none', reason: 'systemd is not running and there is no /etc/cron.d' }), 'skip', /systemd is not running/],
]);

const last = (over: object) => (f: DoctorFacts) => (f.lastSync = { ...(f.lastSync as object), ...over } as DoctorFacts['lastSync']);
table('last-sync', checkLastSync, [
  ['succeeded 5 min ago', () => {}, 'ok', /succeeded 5 min ago \(2 changes, 840 ms\)/],
  ['never ran', (f) => (f.lastSync = 'absent'), 'warn', /not recorded a run/, /iam-ssh sync/],
  ['unreadable record', (f) => (f.lastSync = 'invalid'), 'warn', /unreadable/],
  ['IAM incomplete', last({ exitCode: 1, complete: false }), 'fail', /failed with exit 1: IAM could not be read completely/, /journalctl -u iam-ssh-sync/],
  ['changes failed', last({ exitCode: 1, complete: true, failures: 3 }), 'fail', /3 changes failed/],
  ['config error', last({ exitCode: 2 }), 'fail', /config or usage error/],
  ['stale: 31 min ago', last({ time: new Date(NOW - 31 * 60_000).toISOString() }), 'fail', /31 min ago, more than 3 intervals of 10 min/],
  ['29 min ago is fine', last({ time: new Date(NOW - 29 * 60_000).toISOString() }), 'ok'],
  // A refusal must be noticed: users who left IAM keep their accounts until someone decides.
  ['removals refused', last({ exitCode: 3 }), 'fail', /the last sync \(5 min ago\) refused to remove accounts \(MAX_REMOVALS or the empty-result guard\): users who left IAM keep their accounts/, /^iam-ssh sync --dry-run .*then iam-ssh sync --force/],
  ['in the future', last({ time: new Date(NOW + 3_600_000).toISOString() }), 'ok', /in the future/],
  ['cron host: fix without journalctl', (f) => { f.schedule = { kind: 'none', reason: 'x' }; last({ exitCode: 1 })(f); }, 'fail', /failed/, /^iam-ssh sync/],
]);

test('formatAge', () => {
  expect([5_000, 90_000, 30 * 60_000, 5 * 3_600_000, 4 * 86_400_000].map(formatAge)).toEqual(['5 s', '90 s', '30 min', '5 h', '4 days']);
});

table('aws-credentials', checkCredentials, [
  ['resolve', () => {}, 'ok', /assumed-role\/web/],
  ['none', (f) => (aws(f).identity = { ok: false, kind: 'no-credentials', message: 'Could not load credentials from any providers' }), 'fail', /no AWS credentials/, /instance profile/],
  ['unreachable', (f) => { aws(f).endpoint = 'http://127.0.0.1:9'; aws(f).identity = { ok: false, kind: 'unreachable', message: 'connect ECONNREFUSED 127.0.0.1:9' }; }, 'fail', /STS is unreachable: connect ECONNREFUSED/, /127\.0\.0\.1:9/],
  ['rejected', (f) => (aws(f).identity = { ok: false, kind: 'other', message: 'SignatureDoesNotMatch: Signature expired' }), 'fail', /Signature expired/, /clock/],
  ['config does not load', (f) => (f.aws = null), 'skip'],
]);

const skewed = (ms: number) => (f: DoctorFacts) => (aws(f).serverDate = { header: new Date(NOW).toUTCString(), localMs: NOW + ms });
table('clock', checkClock, [
  ['within a second', () => {}, 'ok', /within 1 s/],
  ['4 min ahead warns', skewed(4 * 60_000), 'warn', /240 s ahead of AWS/, /time sync/],
  ['6 min ahead fails', skewed(6 * 60_000), 'fail', /360 s ahead of AWS: AWS rejects/, /169\.254\.169\.123/],
  ['6 min behind fails', skewed(-6 * 60_000), 'fail', /360 s behind AWS/],
  ['no Date header', (f) => (aws(f).serverDate = null), 'skip'],
  ['garbage Date header', (f) => (aws(f).serverDate = { header: 'yesterday-ish', localMs: NOW }), 'skip', /unreadable/],
  ['no AWS facts', (f) => (f.aws = null), 'skip'],
]);

const denied = { ok: false as const, kind: 'denied' as const, message: 'AccessDenied: not authorized' };
table('iam', checkIam, [
  ['GetGroup and keys answer', () => {}, 'ok', /GetGroup on ssh-users \(1 users\) and ListSSHPublicKeys on Alice/],
  ['GetGroup denied names the role, action and resource', (f) => (aws(f).groups = [{ group: 'ssh-users', result: denied }]), 'fail',
    /assumed-role\/web\/i-0abc lacks iam:GetGroup on arn:aws:iam::123456789012:group\/ssh-users/, /docs\/iam-policy.json/],
  ['ListUsers denied when every user is authorized', (f) => (aws(f).groups = [{ group: '*', result: denied }]), 'fail', /lacks iam:ListUsers on arn:aws:iam::123456789012:user\/\*/],
  ['ListSSHPublicKeys denied', (f) => (aws(f).memberKeys = { user: 'Alice', list: denied, get: null }), 'fail', /lacks iam:ListSSHPublicKeys on arn:aws:iam::123456789012:user\/Alice/],
  ['GetSSHPublicKey denied', (f) => (aws(f).memberKeys = { user: 'Alice', list: { ok: true, keyIds: ['K'] }, get: denied }), 'fail', /lacks iam:GetSSHPublicKey/],
  ['group does not exist', (f) => (aws(f).groups = [{ group: 'ssh-users', result: { ok: false, kind: 'not-found', message: 'NoSuchEntity' } }]), 'fail', /group ssh-users does not exist/, /IAM_AUTHORIZED_GROUPS/],
  ['throttled warns', (f) => (aws(f).groups.push({ group: 'admins', result: { ok: false, kind: 'throttled', message: 'Rate exceeded' } })), 'warn', /throttled/],
  ['a failure outranks a throttle', (f) => { aws(f).groups.unshift({ group: 'admins', result: { ok: false, kind: 'throttled', message: 'Rate exceeded' } }); aws(f).groups.push({ group: 'ops', result: denied }); }, 'fail', /group\/ops/],
  ['unreachable', (f) => (aws(f).groups = [{ group: 'ssh-users', result: { ok: false, kind: 'unreachable', message: 'connect ETIMEDOUT' } }]), 'fail', /IAM is unreachable/],
  ['no members', (f) => { aws(f).groups = [{ group: 'ssh-users', result: { ok: true, members: [] } }]; aws(f).memberKeys = null; }, 'warn', /no IAM user is authorized/],
  ['no credentials: skipped', (f) => (aws(f).identity = { ok: false, kind: 'no-credentials', message: 'x' }), 'skip'],
]);

table('ssm', checkSsm, [
  ['not set', () => {}, 'skip', /SSM_CONFIG_PATH is not set/],
  ['answers', (f) => (aws(f).ssm = { path: '/iam-ssh/', result: { ok: true, count: 3 } }), 'ok', /3 parameters/],
  ['denied', (f) => (aws(f).ssm = { path: '/iam-ssh/', result: denied }), 'fail', /lacks ssm:GetParametersByPath on arn:aws:ssm:\*:123456789012:parameter\/iam-ssh\//, /iam-policy/],
  ['unreachable', (f) => (aws(f).ssm = { path: '/iam-ssh/', result: { ok: false, kind: 'unreachable', message: 'connect ECONNREFUSED' } }), 'fail', /SSM is unreachable/],
]);
