/** doctor's report formats, error sorting, sshd -T parsing and the last-sync record. */
import { renderJson, renderTable } from '../../../src/doctor/render';
import { classifyAwsError } from '../../../src/doctor/gather-aws';
import { commandUserName } from '../../../src/doctor/checks';
import { parseEffective } from '../../../src/platform/sshd-config';
import { parseLastSync } from '../../../src/state/last-sync';
import type { CheckResult } from '../../../src/doctor/facts';

const RESULTS: CheckResult[] = [
  { id: 'root', status: 'ok', summary: 'running as root' },
  { id: 'host-keys', status: 'fail', summary: 'host key /etc/ssh/k has mode 0777', fix: 'chmod 0600 /etc/ssh/k' },
  { id: 'ssm', status: 'skip', summary: 'SSM_CONFIG_PATH is not set', fix: 'never shown for a skip' },
];

describe('renderTable', () => {
  test('one line per check, the fix under a failure, counts at the end', () => {
    const lines = renderTable(RESULTS).trimEnd().split('\n');
    expect(lines[0]).toBe('ok    root       running as root');
    expect(lines[1]).toBe('FAIL  host-keys  host key /etc/ssh/k has mode 0777');
    expect(lines[2]).toBe('                 fix: chmod 0600 /etc/ssh/k');
    expect(lines[3]).toBe('skip  ssm        SSM_CONFIG_PATH is not set');
    expect(lines.at(-1)).toBe('1 failed, 0 warnings, 1 ok, 1 skipped');
  });
  test('a hostile name cannot forge a line', () => {
    const out = renderTable([{ id: 'x', status: 'fail', summary: 'user evil\nok    root  fine\u001b[2J' }]);
    expect(out.split('\n')[0]).toBe('FAIL  x   user evil?ok    root  fine?[2J');
  });
});

test('renderJson has stable fields', () => {
  const doc = JSON.parse(renderJson(RESULTS));
  expect(doc).toEqual({ version: 1, ok: false, counts: { ok: 1, warn: 0, fail: 1, skip: 1 }, checks: RESULTS });
  expect(JSON.parse(renderJson(RESULTS.filter((r) => r.status !== 'fail'))).ok).toBe(true);
});

describe('classifyAwsError', () => {
  const err = (name: string, message: string, extra: object = {}) => Object.assign(new Error(message), { name }, extra);
  test.each([
    [err('AccessDenied', 'User: x is not authorized to perform: iam:GetGroup'), 'denied'],
    [err('AccessDeniedException', 'no'), 'denied'],
    [err('NoSuchEntity', 'The group with name x cannot be found.'), 'not-found'],
    [err('ParameterNotFound', 'x'), 'not-found'],
    [err('Throttling', 'Rate exceeded'), 'throttled'],
    [err('ThrottlingException', 'Rate exceeded'), 'throttled'],
    [err('CredentialsProviderError', 'Could not load credentials from any providers'), 'no-credentials'],
    [err('Error', 'connect ECONNREFUSED 127.0.0.1:9', { code: 'ECONNREFUSED' }), 'unreachable'],
    [err('Error', 'getaddrinfo ENOTFOUND iam.example', { code: 'ENOTFOUND' }), 'unreachable'],
    [err('TimeoutError', 'Connection timed out after 2000 ms'), 'unreachable'],
    [err('SignatureDoesNotMatch', 'Signature expired'), 'other'],
    ['a string', 'other'],
    [undefined, 'other'],
  ])('%s', (e, kind) => expect(classifyAwsError(e).kind).toBe(kind));
  test('keeps the service name in the message', () => {
    expect(classifyAwsError(err('SignatureDoesNotMatch', 'Signature expired')).message).toBe('SignatureDoesNotMatch: Signature expired');
    expect(classifyAwsError(err('X', 'y'.repeat(1000))).message.length).toBeLessThanOrEqual(310);
  });
});

test('sshd -T output keeps every value of a repeated keyword', () => {
  const s = Object.fromEntries(parseEffective('port 22\nhostkey /etc/ssh/a\nhostkey /etc/ssh/b\nAuthorizedKeysCommand /usr/local/bin/iam-ssh keys %u %f\nauthorizedkeyscommanduser iam-ssh\n\n'));
  expect(s.hostkey).toEqual(['/etc/ssh/a', '/etc/ssh/b']);
  expect(s.authorizedkeyscommand).toEqual(['/usr/local/bin/iam-ssh keys %u %f']);
  expect(commandUserName(s)).toBe('iam-ssh');
});

test.each([
  [{ authorizedkeyscommanduser: ['keys'] }, 'keys'],
  [{ authorizedkeyscommanduser: ['none'] }, 'iam-ssh'],
  [{ authorizedkeyscommanduser: ['Evil;rm -rf'] }, 'iam-ssh'],
  [{}, 'iam-ssh'],
])('commandUserName(%j) = %s', (s, want) => expect(commandUserName(s)).toBe(want));

describe('parseLastSync', () => {
  const good = { time: '2030-01-01T00:00:00.000Z', exitCode: 0, complete: true, changes: 1, failures: 0, durationMs: 12 };
  test('round trip', () => expect(parseLastSync(JSON.stringify(good))).toEqual(good));
  test.each([
    ['not json', '{'],
    ['null', 'null'],
    ['bad time', JSON.stringify({ ...good, time: 'yesterday' })],
    ['negative count', JSON.stringify({ ...good, failures: -1 })],
    ['string exit code', JSON.stringify({ ...good, exitCode: '0' })],
    ['complete missing', JSON.stringify({ ...good, complete: undefined })],
  ])('%s is rejected', (_t, text) => expect(parseLastSync(text)).toBeNull());
});
