/** asciicast v2 from a verified session: header, events in order with times in seconds, UTF-8 split across records kept whole. */
import { asciicast, playbackDelays, sessionEvents } from '../../../src/record/asciicast';
import type { VerifiedSession } from '../../../src/record/verify';
import type { StartRecord } from '../../../src/record/wire';

const SID = 'c'.repeat(24);
const euro = Buffer.from('€');
const session: VerifiedSession = {
  sid: SID, realtimeUs: 1_700_000_000_500_000, flags: [], forged: 0, sshd: null, iamKeyId: null, sshdClaim: null,
  start: { k: 'start', v: 1, sid: SID, seq: 0, t: 0, time: 'x', user: 'alice', uid: 1, iamUser: 'Alice', key: null, client: null, tty: true, cmd: null, pid: 2, sshdPid: null, term: 'xterm', cols: 100, rows: 30, data: true } as StartRecord,
  end: { k: 'end', sid: SID, seq: 6, t: 4000, exit: 0, signal: null, reason: 'exited', bytes: { i: 3, o: 9, e: 0 }, gaps: 0 },
  records: [
    { k: 'i', sid: SID, seq: 1, t: 1000, d: 'ls\r' },
    { k: 'o', sid: SID, seq: 2, t: 1002.5, d: 'ls\r\n' },
    { k: 'o', sid: SID, seq: 3, t: 1500, b: euro.subarray(0, 1).toString('base64') },
    { k: 'o', sid: SID, seq: 4, t: 1501, b: euro.subarray(1).toString('base64') },
    { k: 'gap', sid: SID, seq: 5, t: 3000, lost: { i: 0, o: 10, e: 0 } },
  ],
};

test('header and events', () => {
  const [head, ...events] = asciicast(session).trim().split('\n').map((l) => JSON.parse(l));
  expect(head).toEqual({ version: 2, width: 100, height: 30, timestamp: 1_700_000_000, title: `alice (Alice) login shell [${SID}]`, env: { TERM: 'xterm' }, duration: 4 });
  expect(events).toEqual([[1, 'i', 'ls\r'], [1.0025, 'o', 'ls\r\n'], [1.501, 'o', '€'], [3, 'm', 'gap: 10 bytes not recorded']]);
  expect(asciicast(session, false)).not.toContain('"i"');
});

test('playback waits between outputs, faster with speed, never longer than max idle', () => {
  expect(playbackDelays(sessionEvents(session), 2, 0.25).map((d) => d.delayMs)).toEqual([125, 125]);
});
