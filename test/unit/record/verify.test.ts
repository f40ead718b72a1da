/**
 * replay and sessions trust a record only when journald's trusted fields show it came from the
 * recorder's process over the recorder's stream; everything else a user can write under the
 * same identifier is flagged and left out.
 */
import { unrecordedLogins, verifySessions, type JournalEntry } from '../../../src/record/verify';
import { RECORD_IDENT } from '../../../src/record/wire';

const SID = 'a'.repeat(24);
const FP = 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const TRUST = { _PID: '4242', _UID: '200100', _BOOT_ID: 'b1', _STREAM_ID: 's1', _EXE: '/usr/local/bin/iam-ssh', _COMM: 'iam-ssh' };
let clock = 1_700_000_000_000_000;
const rec = (msg: object, trust: Partial<typeof TRUST> = {}): JournalEntry =>
  ({ SYSLOG_IDENTIFIER: RECORD_IDENT, MESSAGE: JSON.stringify(msg), __REALTIME_TIMESTAMP: String(clock++), ...TRUST, ...trust });
const start = (over: object = {}) => ({
  k: 'start', v: 1, sid: SID, seq: 0, t: 0, time: '2026-01-01T00:00:00.000Z', user: 'alice', uid: 200100, iamUser: 'Alice',
  key: { type: 'ssh-ed25519', fp: FP }, client: { addr: '10.0.0.9', port: 5555 }, tty: true, cmd: null, pid: 4242, sshdPid: 100,
  term: 'xterm', cols: 80, rows: 24, data: true, ...over,
});
const out = (seq: number, t: number, d: string, sid = SID) => ({ k: 'o', sid, seq, t, d });
const end = (seq: number, t: number, over: object = {}) => ({ k: 'end', sid: SID, seq, t, exit: 0, signal: null, reason: 'exited', bytes: { i: 0, o: 2, e: 0 }, gaps: 0, ...over });
const sshd = (over: object = {}): JournalEntry => ({
  _COMM: 'sshd', _UID: '0', _PID: '100', _BOOT_ID: 'b1', SYSLOG_IDENTIFIER: 'sshd',
  MESSAGE: `Accepted publickey for alice from 10.0.0.9 port 5555 ssh2: ED25519 ${FP}`, ...over,
});
const served = (uid: string, keyId: string): JournalEntry => ({
  SYSLOG_IDENTIFIER: 'iam-ssh', _UID: uid, MESSAGE: JSON.stringify({ event: 'keys.served', user: 'alice', requested: FP, matchedKeyId: keyId }),
});
const genuine = () => [served('998', 'APKAREAL'), sshd(), rec(start()), rec(out(1, 5, 'hi')), rec(out(2, 9, '!')), rec(end(3, 12))];
const one = (entries: JournalEntry[]) => {
  const all = verifySessions(entries, { expectedExe: TRUST._EXE });
  expect(all).toHaveLength(1);
  return all[0]!;
};

test('a genuine session: nothing flagged, data in order, identity vouched by sshd, the IAM key id from keys.served', () => {
  const s = one(genuine());
  expect(s.flags).toEqual([]);
  expect(s.records.map((r) => r.seq)).toEqual([1, 2]);
  expect(s.sshd).toMatchObject({ user: 'alice', fp: FP });
  expect(s.iamKeyId).toBe('APKAREAL');
});

test('keys.served written by the recorded user itself does not name the key', () => {
  expect(one([served('200100', 'APKAFAKE'), ...genuine().slice(1)]).iamKeyId).toBeNull();
});

test.each([
  ['another process of the user', { _PID: '5000' }],
  ['the same pid over another stream', { _STREAM_ID: 's2' }],
  ['another program', { _EXE: '/usr/bin/logger', _COMM: 'logger' }],
  ['another boot', { _BOOT_ID: 'b2' }],
])('a record forged by %s is flagged and left out', (_what, trust) => {
  const s = one([...genuine(), rec(out(4, 13, 'rm -rf evidence'), trust)]);
  expect(s.flags.join('\n')).toMatch(/1 forged record/);
  expect(s.records.map((r) => ('d' in r ? r.d : ''))).toEqual(['hi', '!']);
});

test('a forged second start record is flagged', () => {
  expect(one([...genuine(), rec(start({ user: 'bob' }), { _PID: '5000' })]).flags.join()).toMatch(/forged/);
});

test('a whole forged session is not vouched by sshd; two genuine sessions of one connection both are', () => {
  const other = 'b'.repeat(24);
  const fake = [rec(start({ sid: other, pid: 5000 }), { _PID: '5000', _STREAM_ID: 's9', _EXE: '/usr/bin/systemd-cat' }), rec({ ...end(1, 3), sid: other }, { _PID: '5000', _STREAM_ID: 's9', _EXE: '/usr/bin/systemd-cat' })];
  const forged = verifySessions([...genuine(), ...fake], { expectedExe: TRUST._EXE }).find((x) => x.sid === other)!;
  expect(forged.flags.join()).toMatch(/not by \/usr\/local\/bin\/iam-ssh/);
  expect(forged.sshdClaim).toBeNull();
  const alone = verifySessions([...genuine().filter((e) => e._COMM !== 'sshd'), ...fake]);
  expect(alone.every((x) => x.flags.some((f) => /Accepted publickey/.test(f)))).toBe(true);
  // Multiplexing: a second channel of the same connection, its own recorder process and stream.
  const second = [rec(start({ sid: other, pid: 4343, tty: false, cmd: 'internal-sftp' }), { _PID: '4343', _STREAM_ID: 's3' }), rec({ ...end(1, 3), sid: other }, { _PID: '4343', _STREAM_ID: 's3' })];
  expect(verifySessions([...genuine(), ...second], { expectedExe: TRUST._EXE }).map((x) => x.flags)).toEqual([[], []]);
});

test('logins of recorded users that no trusted recording names are reported', () => {
  const login2 = sshd({ _PID: '200', MESSAGE: `Accepted publickey for alice from 10.0.0.9 port 6000 ssh2: ED25519 ${FP}` });
  const bob = sshd({ _PID: '300', MESSAGE: `Accepted publickey for bob from 10.0.0.8 port 1 ssh2: ED25519 ${FP}` });
  // A forged start naming sshd process 200 does not cover that login.
  const cover = [rec(start({ sid: 'b'.repeat(24), pid: 5000, sshdPid: 200, client: { addr: '10.0.0.9', port: 6000 } }), { _PID: '5000', _STREAM_ID: 's9', _EXE: '/usr/bin/systemd-cat' })];
  const entries = [...genuine(), login2, bob, ...cover];
  const found = unrecordedLogins(entries, verifySessions(entries, { expectedExe: TRUST._EXE }), new Set(['alice']));
  expect(found).toEqual([expect.objectContaining({ user: 'alice', sshdPid: 200, port: 6000 })]);
});

test('a start record whose pid is not the writer\'s, or whose exe is not the recorder, is flagged', () => {
  expect(one([sshd(), rec(start({ pid: 1 })), rec(end(1, 1))]).flags.join()).toMatch(/not by the pid it names/);
  const exe = verifySessions([sshd(), rec(start(), { _EXE: '/tmp/fake' }), rec(end(1, 1), { _EXE: '/tmp/fake' })], { expectedExe: TRUST._EXE });
  expect(exe[0]!.flags.join()).toMatch(/not by \/usr\/local\/bin\/iam-ssh/);
});

test('sshd accepted another key or source than the start record claims', () => {
  const s = one([sshd({ MESSAGE: 'Accepted publickey for alice from 10.0.0.7 port 1 ssh2: ED25519 SHA256:other' }), ...genuine().slice(2)]);
  expect(s.flags.join('\n')).toMatch(/accepted key SHA256:other/);
  expect(s.flags.join('\n')).toMatch(/from 10.0.0.7 port 1/);
});

test('sshd lines written by a non-root process vouch for nothing', () => {
  expect(one([sshd({ _UID: '200100' }), ...genuine().slice(2)]).sshd).toBeNull();
});

test('missing records, a missing end, time going backwards, a killed script: each flagged', () => {
  expect(one([sshd(), rec(start()), rec(out(2, 5, 'x')), rec(end(3, 6))]).flags.join()).toMatch(/1 record\(s\) missing/);
  expect(one([sshd(), rec(start()), rec(out(1, 5, 'x'))]).flags.join()).toMatch(/no end record/);
  expect(one([sshd(), rec(start()), rec(out(1, 5, 'x')), rec(out(2, 4, 'y')), rec(end(3, 6))]).flags.join()).toMatch(/backwards/);
  expect(one([sshd(), rec(start()), rec(end(1, 6, { exit: 137, signal: 'SIGKILL', reason: 'script was killed by SIGKILL' }))]).flags.join()).toMatch(/script was killed/);
});

test('a session ended by a hangup from sshd (the client went away) is not flagged', () => {
  expect(one([...genuine().slice(0, 4), rec(end(2, 12, { exit: 129, signal: 'SIGHUP', reason: 'ended on SIGHUP from sshd' }))]).flags).toEqual([]);
});

test('a gap record is reported with the bytes lost', () => {
  const s = one([sshd(), rec(start()), rec({ k: 'gap', sid: SID, seq: 1, t: 3, lost: { i: 0, o: 9000, e: 0 } }), rec(end(2, 6))]);
  expect(s.flags).toEqual(['1 gap(s): 9000 bytes not recorded while the journal was slow']);
});

test('malformed messages and other identifiers are ignored', () => {
  const junk = ['not json', '[]', '{"k":"o","sid":"short","seq":1,"t":1,"d":"x"}', JSON.stringify(out(-1, 1, 'x')), JSON.stringify({ ...out(1, 1, 'x'), b: 'AA==' })];
  const s = one([...genuine(), ...junk.map((m) => ({ ...rec({}), MESSAGE: m })), { ...rec(out(4, 1, 'x')), SYSLOG_IDENTIFIER: 'other' }]);
  expect(s.flags).toEqual([]);
});
