/** The recording block's text: appended at the end of sshd's main file, taken out byte for byte, never twice. */
import { appendRecordBlock, expectedEffective, recordBlockLines, removeRecordBlock, RECORD_BEGIN, RECORD_END } from '../../../src/install/sshd-record-text';

const s = { group: 'iam-ssh-recorded', binary: '/usr/local/bin/iam-ssh', configFile: null };

test('the block forces the recorder, turns every forwarding off and exposes the key', () => {
  expect(recordBlockLines(s)).toEqual([
    'Match Group iam-ssh-recorded', '\tForceCommand /usr/local/bin/iam-ssh record', '\tAllowTcpForwarding no', '\tAllowStreamLocalForwarding no',
    '\tX11Forwarding no', '\tPermitTunnel no', '\tAllowAgentForwarding no', '\tExposeAuthInfo yes',
  ]);
  expect(expectedEffective({ ...s, configFile: '/etc/other.conf' }).forcecommand).toBe('/usr/local/bin/iam-ssh --config /etc/other.conf record');
});

test.each(['', 'Port 22\n', 'Port 22', 'Port 22\nMatch User x\n\tX11Forwarding yes\n'])('append then remove gives the file back: %j', (text) => {
  const withBlock = appendRecordBlock(text, s);
  expect(withBlock.indexOf(RECORD_BEGIN)).toBeGreaterThanOrEqual(text.length);
  expect(withBlock.endsWith(RECORD_END + '\n')).toBe(true);
  expect(appendRecordBlock(withBlock, s)).toBe(withBlock);
  expect(removeRecordBlock(withBlock)).toBe(text.endsWith('\n') || text === '' ? text : text + '\n');
});

test('a block without its end mark is not guessed at', () => {
  expect(() => removeRecordBlock(`Port 22\n${RECORD_BEGIN}\nMatch Group x\n`)).toThrow(/no "# END iam-ssh record" line/);
});
