/**
 * `iam-ssh record` against a stand-in for journald's stream socket in a private mount namespace:
 * a journal that stops reading never holds the session up (data dropped, a gap record, then
 * the end); without journald the session is refused, or with RECORD_JOURNAL_DOWN=allow runs
 * with a warning; output of a command without a terminal is relayed byte for byte.
 */
import type { ChildProcess } from 'node:child_process';
import { MountNamespace, rootSuite } from '../helpers/namespace';
import { requireBinary } from '../helpers/run';

const BIN = '/usr/local/sbin/iam-ssh';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Fixed text. Accepts streams paused; reads them only once /run/resume exists; prints each stream's text at its end.
const SLOW_JOURNAL = `
const net = require('net'), fs = require('fs');
const P = '/run/systemd/journal/stdout';
fs.mkdirSync('/run/systemd/journal', { recursive: true });
try { fs.unlinkSync(P); } catch {}
net.createServer({ pauseOnConnect: true }, (s) => {
  const chunks = [];
  s.on('data', (d) => chunks.push(d));
  s.on('end', () => process.stdout.write(JSON.stringify(Buffer.concat(chunks).toString()) + '\\n'));
  const wait = setInterval(() => { if (fs.existsSync('/run/resume')) { clearInterval(wait); s.resume(); } }, 50);
}).listen(P, () => { fs.chmodSync(P, 0o666); process.stdout.write('"ready"\\n'); });
`;

rootSuite('iam-ssh record with a slow or missing journald', () => {
  let ns: MountNamespace;
  let journal: ChildProcess | null = null;
  let journalOut = '';

  const record = (command: string) =>
    ns.exec('/usr/sbin/runuser', ['-u', 'rec', '--', 'env', `SSH_ORIGINAL_COMMAND=${command}`, BIN, '--config', '/etc/iam-ssh-rec.conf', 'record'], { timeoutMs: 60_000 });

  beforeAll(async () => {
    ns = await MountNamespace.create();
    await ns.must('install', ['-o', 'root', '-g', 'root', '-m', '0755', requireBinary(), BIN]);
    await ns.must('useradd', ['--create-home', '--shell', '/bin/bash', 'rec']);
  });

  afterAll(async () => {
    journal?.kill();
    await ns?.stop();
  });

  test('without journald the session is refused by default, and runs with a warning when allowed', async () => {
    await ns.writeFile('/etc/iam-ssh-rec.conf', '');
    const refused = await record('echo ran');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/cannot reach journald .*session refused/);
    await ns.writeFile('/etc/iam-ssh-rec.conf', 'RECORD_JOURNAL_DOWN=allow\n');
    const allowed = await record('echo ran; exit 4');
    expect(allowed.stdout).toBe('ran\n');
    expect(allowed.code).toBe(4);
    expect(allowed.stderr).toMatch(/WARNING: this session is NOT RECORDED/);
  });

  test('a journal that stops reading does not hold the session up: data is dropped, a gap recorded, the end kept', async () => {
    journal = ns.spawn(process.execPath, ['-e', SLOW_JOURNAL]);
    journal.stdout!.on('data', (d) => (journalOut += d));
    while (!journalOut.includes('"ready"')) await sleep(20);
    await ns.writeFile('/etc/iam-ssh-rec.conf', 'RECORD_COMMAND_DATA=yes\nRECORD_BUFFER_BYTES=65536\n');
    const size = 8_000_000;
    const session = record(`head -c ${size} /dev/zero | tr '\\0' x; touch /tmp/done`);
    // The command ends while journald reads nothing at all.
    for (let i = 0; i < 600 && (await ns.exec('test', ['-e', '/tmp/done'])).code !== 0; i++) await sleep(100);
    expect((await ns.exec('test', ['-e', '/tmp/done'])).code).toBe(0);
    await ns.must('touch', ['/run/resume']);
    const r = await session;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('x'.repeat(size));
    // One line per stream, printed when the recorder closes it: complete once it ends with a newline.
    const line = () => journalOut.split('\n').slice(0, -1).find((l) => l.includes('iam-ssh-record'));
    for (let i = 0; i < 200 && !line(); i++) await sleep(50);
    const text = JSON.parse(line()!) as string;
    const records = text.split('\n').slice(7).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((x) => x.seq)).toEqual(records.map((_, i) => i));
    const gaps = records.filter((x) => x.k === 'gap') as { lost: { o: number } }[];
    expect(gaps.length).toBeGreaterThan(0);
    const kept = records.filter((x) => x.k === 'o').reduce((n, x) => n + Buffer.byteLength(x.d as string), 0);
    expect(kept + gaps.reduce((n, g) => n + g.lost.o, 0)).toBe(size);
    expect(records.at(-1)).toMatchObject({ k: 'end', exit: 0, bytes: { i: 0, o: size, e: 0 }, gaps: gaps.length });
  });
});
