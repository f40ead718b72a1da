/**
 * JournalStream against a server that behaves as journald does with a stream connection: it
 * shuts down its own sending side right after accepting (journald never writes to the client),
 * and reads lines for as long as the client writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalStream } from '../../../src/util/journal';

let dir: string;
let server: Server;
let received: Promise<string>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iam-ssh-journal-'));
  let deliver!: (text: string) => void;
  received = new Promise((r) => (deliver = r));
  server = createServer({ allowHalfOpen: true }, (s) => {
    let text = '';
    s.end(); // journald: shutdown(fd, SHUT_WR) on every stdout stream it accepts
    s.on('data', (d) => (text += d));
    s.on('end', () => deliver(text));
  });
  await new Promise<void>((r) => server.listen(join(dir, 'stdout'), r));
});

afterEach(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('lines written long after connecting still reach journald, which half-closed the stream at once', async () => {
  const j = new JournalStream(join(dir, 'stdout'), 'iam-ssh');
  j.write('early');
  await sleep(200);
  j.write('late', 3);
  expect(await j.close(2000)).toBe(true);
  expect(await received).toBe('iam-ssh\n\n86\n1\n0\n0\n0\n<6>early\n<3>late\n');
});

test('no journald socket: lines are dropped and close reports it, without throwing', async () => {
  const j = new JournalStream(join(dir, 'missing'), 'iam-ssh');
  j.write('lost');
  expect(await j.close(1000)).toBe(false);
});
