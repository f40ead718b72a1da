/** doctor's keys-chain check: KEYS_CHAIN_COMMAND is reported, and judged as keys judges it before running it. */
import { checkKeysChain, chainChecks } from '../../../src/doctor/checks-chain';
import { checkKeysCommand, checkSshdConfig, CHECKS } from '../../../src/doctor/checks';
import type { DoctorFacts } from '../../../src/doctor/facts';
import { healthyFacts, dir, file } from '../../helpers/doctor-fixtures';

const EIC = '/opt/aws/bin/eic_run_authorized_keys';

function withChain(change: (f: DoctorFacts) => void = () => {}): DoctorFacts {
  const f = healthyFacts();
  f.chain = {
    command: `${EIC} %u %f`,
    path: { program: EIC, resolved: EIC, error: null, chain: [file(EIC, 0o755), dir('/opt/aws/bin', 0o755), dir('/opt/aws', 0o755), dir('/opt', 0o755), dir('/', 0o755)] },
  };
  change(f);
  return f;
}

test('registered after keys-command', () => {
  const ids = CHECKS.map((c) => c.id);
  expect(chainChecks.map((c) => c.id)).toEqual(['keys-chain']);
  expect(ids.indexOf('keys-chain')).toBe(ids.indexOf('keys-command') + 1);
});

const cases: [string, (f: DoctorFacts) => void, string, RegExp, RegExp?][] = [
  ['a safe chain names the command', () => {}, 'ok', /^keys chains \/opt\/aws\/bin\/eic_run_authorized_keys %u %f after IAM's keys: .*root-owned/],
  ['file mode: keys does not run, so neither does the chain', (f) => (f.keysMode = 'file'), 'warn', /KEYS_MODE=file/, /KEYS_CHAIN_COMMAND/],
  ['missing program', (f) => (f.chain!.path = { program: EIC, resolved: null, error: 'ENOENT', chain: [] }), 'fail', /does not exist \(ENOENT\)/, /KEYS_CHAIN_COMMAND/],
  ['program writable by its group', (f) => (f.chain!.path.chain[0] = file(EIC, 0o775)), 'fail', /mode 0775 .*keys refuses to run it/, /chmod 0755/],
  ['a directory owned by a user', (f) => (f.chain!.path.chain[2] = dir('/opt/aws', 0o755, 1000)), 'fail', /\/opt\/aws is owned by uid 1000/, /chown root:root \/opt\/aws/],
  ['not executable', (f) => (f.chain!.path.chain[0] = file(EIC, 0o644)), 'fail', /not executable/],
  ['a directory the command user cannot enter', (f) => (f.chain!.path.chain[1] = dir('/opt/aws/bin', 0o700)), 'fail', /iam-ssh cannot enter \/opt\/aws\/bin/],
  ['iam-ssh itself', (f) => (f.chain!.path = { ...f.commandPath!, program: '/usr/local/bin/iam-ssh' }), 'fail', /is iam-ssh itself/],
];
// Rows differ in length; an object per row keeps jest from passing its done callback.
test.each(cases.map(([title, change, status, summary, fix]) => ({ title, change, status, summary, fix })))('$title', ({ change, status, summary, fix }) => {
  const r = checkKeysChain(withChain(change));
  expect(r.status).toBe(status);
  expect(r.summary).toMatch(summary);
  if (fix) expect(r.fix).toMatch(fix);
});

test('no KEYS_CHAIN_COMMAND: skipped, saying keys prints IAM keys only', () => {
  expect(checkKeysChain(healthyFacts())).toEqual({ status: 'skip', summary: 'KEYS_CHAIN_COMMAND is not set: keys prints IAM keys only' });
});

test('sshd-config says when sshd was evaluated with the -o options of its unit', () => {
  const f = healthyFacts();
  if (!f.sshd.ran) throw new Error('fixture');
  f.sshd.service = { unit: 'ssh.service', options: ['AuthorizedKeysCommand /x %u %f', 'AuthorizedKeysCommandUser ec2-instance-connect'] };
  expect(checkSshdConfig(f).summary).toMatch(/as ssh\.service starts it, with its 2 -o options/);
  f.sshd.service = { error: 'unterminated quote in: x' };
  expect(checkSshdConfig(f)).toMatchObject({ status: 'warn', summary: expect.stringMatching(/its unit could not be read: unterminated quote/) });
});

test("keys-command: another command passed with -o by sshd's unit is named as such, with install as the fix (a drop-in file would not win)", () => {
  const f = healthyFacts();
  if (!f.sshd.ran) throw new Error('fixture');
  const eic = '/usr/share/ec2-instance-connect/eic_run_authorized_keys';
  f.sshd.settings.authorizedkeyscommand = [`${eic} %u %f`];
  f.sshd.service = { unit: 'ssh.service', options: [`AuthorizedKeysCommand ${eic} %u %f`, 'AuthorizedKeysCommandUser ec2-instance-connect'] };
  expect(checkKeysCommand(f)).toMatchObject({
    status: 'fail',
    summary: `sshd runs another AuthorizedKeysCommand (${eic}), passed with -o by ssh.service's ExecStart; it uses the first one it reads`,
    fix: expect.stringMatching(/^iam-ssh install {2}# .*ssh\.service.*KEYS_CHAIN_COMMAND/),
  });
  f.sshd.service = { unit: 'ssh.service', options: [] };
  expect(checkKeysCommand(f).summary).toBe(`sshd runs another AuthorizedKeysCommand (${eic}); it uses the first one it reads`);
});
