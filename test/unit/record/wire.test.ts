/** Records on the wire: bounded chunks that never split a UTF-8 sequence, data that round-trips, script's own lines taken out. */
import fc from 'fast-check';
import { CHUNK_BYTES, ScriptLogFilter, decodeData, encodeData, parseRecord, splitChunks, type DataRecord } from '../../../src/record/wire';
import { mapSessionCommand } from '../../../src/record/session-command';

test('chunks are at most CHUNK_BYTES, join back to the input, and cut between UTF-8 sequences', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3 * CHUNK_BYTES + 7 }), fc.integer({ min: 4, max: 64 }), (bytes, max) => {
    const parts = splitChunks(bytes, max);
    expect(parts.every((p) => p.length > 0 && p.length <= max)).toBe(true);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(bytes));
  }));
  const text = Buffer.from('é'.repeat(10) + '€'.repeat(10));
  for (const p of splitChunks(text, 7)) expect(Buffer.from(Buffer.from(p).toString('utf8'))).toEqual(Buffer.from(p));
});

test('a cut 4-byte sequence as long as the U+FFFD it decodes to goes base64 and survives', () => {
  const bytes = Uint8Array.from([0xf0, 0x90, 0x80]);
  expect(encodeData(bytes)).toEqual({ b: Buffer.from(bytes).toString('base64') });
  const r = { k: 'o', sid: 'a'.repeat(24), seq: 1, t: 1, ...encodeData(bytes) } as DataRecord;
  expect(decodeData(parseRecord(JSON.stringify(r)) as DataRecord)).toEqual(Buffer.from(bytes));
});

test('any bytes survive encoding; text stays readable, binary goes base64', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const r = { k: 'o', sid: 'a'.repeat(24), seq: 1, t: 1, ...encodeData(bytes) } as DataRecord;
    expect(decodeData(parseRecord(JSON.stringify(r)) as DataRecord)).toEqual(Buffer.from(bytes));
  }));
  expect(encodeData(Buffer.from('ls -l\r\n'))).toEqual({ d: 'ls -l\r\n' });
  expect(encodeData(Buffer.from([0xff, 0xfe, 0]))).toHaveProperty('b');
  // control characters would be six bytes each in JSON: base64 is smaller
  expect(encodeData(Buffer.alloc(100, 1))).toHaveProperty('b');
});

test('parseRecord refuses what the recorder never writes', () => {
  for (const bad of ['', 'null', '1', '[]', '{}', '{"k":"o","sid":"' + 'a'.repeat(24) + '","seq":1.5,"t":1,"d":"x"}',
    '{"k":"o","sid":"' + 'a'.repeat(24) + '","seq":1,"t":-1,"d":"x"}', '{"k":"o","sid":"' + 'a'.repeat(24) + '","seq":1,"t":1}',
    '{"k":"o","sid":"' + 'a'.repeat(24) + '","seq":1,"t":1,"b":"!!"}', '{"k":"start","sid":"' + 'a'.repeat(24) + '","seq":0,"t":0}',
    '{"k":"end","sid":"' + 'a'.repeat(24) + '","seq":3,"t":1,"exit":0,"signal":null,"reason":"x","bytes":{"i":0},"gaps":0}']) {
    expect(parseRecord(bad)).toBeNull();
  }
});

describe("script's header and trailer", () => {
  const run = (chunks: string[]) => {
    const f = new ScriptLogFilter();
    const out = chunks.flatMap((c) => f.push(Buffer.from(c)));
    f.end();
    return Buffer.concat(out).toString();
  };
  const header = 'Script started on 2026-01-01 00:00:00+00:00 [COMMAND="bash" <not executed on terminal>]\n';
  const trailer = '\nScript done on 2026-01-01 00:00:09+00:00 [COMMAND_EXIT_CODE="0"]\n';

  test('are taken out, in one chunk or split', () => {
    expect(run([header + 'hello\r\n', trailer])).toBe('hello\r\n');
    expect(run([header.slice(0, 10), header.slice(10) + 'a', 'b' + trailer])).toBe('ab');
  });

  test("the user's own text that looks like the trailer is kept when more follows", () => {
    expect(run([header, 'x' + trailer, 'more'])).toBe('x' + trailer + 'more');
  });

  test('a log that does not start with the header is kept whole', () => {
    expect(run(['plain output\n'])).toBe('plain output\n');
  });
});

test('internal-sftp runs the sftp-server sshd ships; other commands are kept as they are', () => {
  expect(mapSessionCommand('internal-sftp', '/usr/lib/openssh/sftp-server')).toBe('/usr/lib/openssh/sftp-server');
  expect(mapSessionCommand('internal-sftp -l INFO', '/usr/lib/openssh/sftp-server')).toBe('/usr/lib/openssh/sftp-server -l INFO');
  expect(mapSessionCommand('/usr/lib/openssh/sftp-server', null)).toBe('/usr/lib/openssh/sftp-server');
  expect(mapSessionCommand('internal-sftpx', '/x')).toBe('internal-sftpx');
  expect(mapSessionCommand(null, '/x')).toBeNull();
});
