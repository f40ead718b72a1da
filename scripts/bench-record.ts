// Benchmark of session recording (`iam-ssh record`) in a private mount namespace, with a
// stand-in for journald's stream socket that counts what arrives: the latency one keystroke
// gains (echo round trip through a pseudo-terminal, with and without the recorder), the journal
// bytes and entries of a scripted interactive session (extrapolated to a typical minute), the
// start-up cost of a recorded command, and the recorder's peak RSS while 50 MB go by.
// Run by `npm run bench`; not a test. Needs root (the namespace).
import { MountNamespace } from '../test/helpers/namespace';
import { requireBinary } from '../test/helpers/run';

const BIN = '/usr/local/sbin/iam-ssh';
const KEYS = Number(process.env.BENCH_RECORD_KEYS ?? 300);

// Fixed text. A listener on journald's stream socket path that counts lines and bytes per connection.
const LISTENER = `
const net = require('net'), fs = require('fs');
const P = '/run/systemd/journal/stdout';
fs.mkdirSync('/run/systemd/journal', { recursive: true });
net.createServer((s) => {
  let lines = 0, bytes = 0;
  s.on('data', (d) => { bytes += d.length; for (const c of d) if (c === 10) lines++; });
  s.on('close', () => fs.appendFileSync('/run/bench-journal.jsonl', JSON.stringify({ lines, bytes }) + '\\n'));
}).listen(P, () => { fs.chmodSync(P, 0o666); console.log('ready'); });
`;

// Fixed text; argv: mode (keys|session|big), command, count, SSH_ORIGINAL_COMMAND ('' for none).
// Drives a pseudo-terminal through util-linux script, as sshd's would be.
const DRIVER = `
const { spawn } = require('child_process');
const [mode, cmd, n, original] = process.argv.slice(1);
const env = { ...process.env };
if (original) env.SSH_ORIGINAL_COMMAND = original;
const p = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'], env });
let buf = '';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
p.stdout.on('data', (d) => (buf += d.toString('latin1')));
const until = async (pred, ms = 10000) => { const t = Date.now(); while (!pred()) { if (Date.now() - t > ms) throw new Error('timeout: ' + JSON.stringify(buf.slice(-200))); await new Promise((r) => setImmediate(r)); } };
(async () => {
  const t0 = performance.now();
  if (mode === 'keys') {
    await sleep(800);
    const lat = [];
    for (let i = 0; i < Number(n); i++) {
      const ch = String.fromCharCode(97 + (i % 26));
      const before = buf.length;
      const t = performance.now();
      p.stdin.write(ch);
      await until(() => buf.indexOf(ch, before) >= 0);
      lat.push(performance.now() - t);
      await sleep(5);
    }
    p.stdin.write('\\n\\x04');
    await new Promise((r) => p.on('close', r));
    console.log(JSON.stringify({ lat }));
  } else if (mode === 'session') {
    await sleep(800);
    const cmds = ['ls -l /usr/bin | head -20', 'date', 'uname -a', 'id', 'df -h / | tail -1', 'echo $HOME', 'ls /etc | head -30', 'cat /etc/os-release'];
    let keys = 0;
    for (let i = 0; i < Number(n); i++) {
      for (const ch of cmds[i % cmds.length] + '\\n') { p.stdin.write(ch); keys++; await sleep(15); }
      await sleep(100);
    }
    p.stdin.write('exit\\n');
    await new Promise((r) => p.on('close', r));
    console.log(JSON.stringify({ keys: keys + 5, outBytes: buf.length, ms: performance.now() - t0 }));
  } else {
    let n = 0;
    p.stdout.removeAllListeners('data');
    p.stdout.on('data', (d) => (n += d.length));
    await new Promise((r) => p.on('close', r));
    console.log(JSON.stringify({ ms: performance.now() - t0, outBytes: n }));
  }
})();
`;

const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))]!;

async function main(): Promise<void> {
  const ns = await MountNamespace.create();
  try {
    await ns.must('install', ['-o', 'root', '-g', 'root', '-m', '0755', requireBinary(), BIN]);
    await ns.must('useradd', ['--create-home', '--shell', '/bin/bash', 'bench']);
    const listener = ns.spawn(process.execPath, ['-e', LISTENER]);
    let out = '';
    listener.stdout!.on('data', (d) => (out += d));
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 20));
    /** What reached the stand-in since the last call: one line per connection (one per recorded session). */
    const journal = async () => {
      const r = await ns.exec('sh', ['-c', 'cat /run/bench-journal.jsonl 2>/dev/null; rm -f /run/bench-journal.jsonl']);
      return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { lines: number; bytes: number })
        .reduce((a, x) => ({ lines: a.lines + x.lines, bytes: a.bytes + x.bytes }), { lines: 0, bytes: 0 });
    };
    const drive = async (mode: string, cmd: string, n: number, original = '') => {
      const r = await ns.exec('runuser', ['-u', 'bench', '--', process.execPath, '-e', DRIVER, mode, cmd, String(n), original], { timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(`${mode} ${cmd}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    };

    // 1. Latency: the recorder is not on the keystroke path (it reads script's logs beside it); script's pty hop is.
    const plain = (await drive('keys', 'cat', KEYS)).lat as unknown as number[];
    const hop = (await drive('keys', 'script -qfec cat /dev/null', KEYS)).lat as unknown as number[];
    const recorded = (await drive('keys', `${BIN} record`, KEYS, 'cat')).lat as unknown as number[];
    await journal();
    const fmt = (xs: number[]) => `median ${q(xs, 0.5).toFixed(2)}, p95 ${q(xs, 0.95).toFixed(2)}`;
    console.log(`keystroke echo round trip, ${KEYS} keys (ms): unrecorded ${fmt(plain)}; through a second script alone ${fmt(hop)}; recorded ${fmt(recorded)}`);

    // 2. Journal volume of an interactive session, and per typical minute.
    const s = await drive('session', `${BIN} record`, 24);
    const j = await journal();
    const perKey = j.bytes / s.keys!;
    console.log(`scripted login-shell session: ${s.keys} keystrokes, ${s.outBytes} bytes shown, ${(s.ms! / 1000).toFixed(1)} s -> ${j.lines} journal entries, ${j.bytes} bytes of stream (${perKey.toFixed(0)} bytes per keystroke with its output)`);
    // A person types far slower than the script: scale to 100 keystrokes a minute, with this session's output per command.
    console.log(`typical minute (100 keystrokes, ${Math.round((s.outBytes! * 100) / s.keys!)} bytes shown): ${((perKey * 100) / 1024).toFixed(1)} KiB of MESSAGE text in ${Math.round((j.lines * 100) / s.keys!)} entries, before journald's own fields and compression`);

    // 3. Start-up: a recorded `true` without a terminal, against the same command run directly.
    const t = async (args: string[], env: Record<string, string>) => {
      const xs: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        const r = await ns.exec('/usr/sbin/runuser', ['-u', 'bench', '--', ...args], { env: { PATH: '/usr/bin:/bin', ...env } });
        if (r.code !== 0) throw new Error(r.stderr);
        xs.push(performance.now() - t0);
      }
      return q(xs, 0.5);
    };
    const direct = await t(['/bin/bash', '-c', 'true'], {});
    const node = await t([BIN, '--version'], {});
    const wrapped = await t(['env', 'SSH_ORIGINAL_COMMAND=true', BIN, 'record'], {});
    await journal();
    console.log(`session start, median of 15: bash -c true ${direct.toFixed(0)} ms, iam-ssh --version ${node.toFixed(0)} ms, recorded true ${wrapped.toFixed(0)} ms (+${(wrapped - direct).toFixed(0)} ms per login or command)`);

    // 4. 50 MB of output through a recorded terminal: the recorder's peak RSS (GNU time).
    const big = await drive('big', `/usr/bin/time -f %M -o /tmp/bench-rss ${BIN} record`, 0, 'head -c 37500000 /dev/zero | base64 -w 120');
    const rssKb = Number((await ns.must('cat', ['/tmp/bench-rss'])).stdout.trim());
    const jb = await journal();
    console.log(`50 MB session: ${(big.outBytes! / 1e6).toFixed(1)} MB shown in ${(big.ms! / 1000).toFixed(1)} s; recorder peak RSS ${(rssKb / 1024).toFixed(1)} MiB; ${jb.lines} entries, ${(jb.bytes / 1e6).toFixed(1)} MB to journald`);
    listener.kill('SIGTERM');
  } finally {
    await ns.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
