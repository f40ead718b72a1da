/**
 * Session recording under a real systemd and journald, with a real sshd: install writes sshd's
 * Match block for the recorded group (proven by sshd -T), a recorded IAM user's sessions reach
 * the journal as they happen and come back through `sessions` and `replay`; an unrecorded
 * user is not wrapped; scp and `ssh host cmd` stay byte-exact; forwarding is refused; killing
 * script ends the session and is flagged, forged records are flagged; with journald stopped a
 * recorded login is refused; 50 MB of output keeps the recorder's memory bounded.
 * One container serves the whole file; the tests run in order.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container, BINARY_IN_CONTAINER, containerSuite } from '../helpers/container';
import { Moto, TEST_CREDENTIALS, freePort } from '../helpers/moto';
import { makeClientKey, type ClientKey } from '../helpers/sshd';
import { run, type RunResult } from '../helpers/run';

const BIN = '/usr/local/bin/iam-ssh';
const CREDENTIALS = `[default]\naws_access_key_id = ${TEST_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${TEST_CREDENTIALS.secretAccessKey}\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row { sid: string; user: string; iamUser: string | null; key: string | null; iamKeyId: string | null; source: string | null; exit: number | null; command: string | null; bytes: { i: number; o: number; e: number } | null; status: string; flags: string[] }

containerSuite('session recording under a real journald and sshd', () => {
  let moto: Moto;
  let c: Container;
  let keyDir: string;
  let alice: ClientKey;
  let bob: ClientKey;
  let aliceKeyId: string;
  let installOut: string;

  const sshArgs = (key: ClientKey, extra: string[] = []) => [
    '-F', '/dev/null', '-i', key.path, '-p', String(c.sshPort), '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(keyDir, 'known_hosts')}`, '-o', 'LogLevel=ERROR', ...extra,
  ];
  const ssh = (user: string, key: ClientKey, command: string[], opts: { input?: string; tty?: boolean } = {}): Promise<RunResult> =>
    run('ssh', [...sshArgs(key, opts.tty ? ['-tt'] : []), `${user}@127.0.0.1`, ...(command.length ? ['--', ...command] : [])],
      { env: { PATH: process.env.PATH, HOME: keyDir }, input: opts.input, timeoutMs: 120_000 });
  const sessions = async (): Promise<Row[]> => {
    const r = await c.must(BIN, ['sessions', '--json'], { timeoutMs: 60_000 });
    return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
  };
  const latest = async (user: string, pred: (r: Row) => boolean = () => true) => (await sessions()).filter((r) => r.user === user && pred(r)).at(-1);

  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-record-'));
    alice = await makeClientKey(keyDir, 'alice');
    bob = await makeClientKey(keyDir, 'bob');
    moto = await Moto.start();
    const ids = await moto.seed({
      groups: ['ssh-users', 'breakglass'],
      users: [
        { name: 'Alice.Smith', groups: ['ssh-users', 'breakglass'], keys: [{ body: alice.publicLine }] },
        { name: 'Bob.Jones', groups: ['ssh-users'], keys: [{ body: bob.publicLine }] },
      ],
    });
    aliceKeyId = ids['Alice.Smith']![0]!;
    c = await Container.boot({
      files: {
        '/root/.aws/credentials': { content: CREDENTIALS, mode: 0o600 },
        '/etc/iam-ssh.conf': 'RECORD_GROUPS="breakglass"\n',
      },
      // sftp through sshd's own code: the recorder must run sftp-server in its place.
      setup: "sed -i 's|^Subsystem.*sftp.*|Subsystem sftp internal-sftp|' /etc/ssh/sshd_config",
    });
    const r = await c.exec(BINARY_IN_CONTAINER, ['install', '--endpoint-url', moto.url, '--region', 'us-east-1', '--authorized-groups', 'ssh-users'], { timeoutMs: 120_000 });
    installOut = r.stdout + r.stderr;
    if (r.code !== 0) throw new Error(`install failed: ${installOut}`);
    // The keys command's user gets the emulator's credentials in place of the instance role.
    await c.must('install', ['-d', '-o', 'iam-ssh', '-g', 'iam-ssh', '-m', '0700', '/nonexistent', '/nonexistent/.aws']);
    await c.writeFile('/nonexistent/.aws/credentials', CREDENTIALS, '0600');
    await c.must('chown', ['iam-ssh:iam-ssh', '/nonexistent/.aws/credentials']);
  }, 300_000);

  afterAll(async () => {
    await c?.stop();
    await moto?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('install writes the Match block and proves it with sshd -T for a recorded and an unrecorded user', async () => {
    expect(installOut).toContain('sshd -T: alice.smith (in iam-ssh-recorded) runs /usr/local/bin/iam-ssh record without forwarding');
    const eff = async (user: string) => (await c.must('sshd', ['-T', '-C', `user=${user},host=x,addr=127.0.0.1`])).stdout;
    const a = await eff('alice.smith');
    for (const line of ['forcecommand /usr/local/bin/iam-ssh record', 'allowtcpforwarding no', 'x11forwarding no', 'permittunnel no', 'allowagentforwarding no', 'exposeauthinfo yes']) {
      expect(a).toContain(`${line}\n`);
    }
    expect(await eff('bob.jones')).toContain('forcecommand none\n');
  });

  test('a recorded ssh -tt session: listed with IAM user and key, replayed in order, with monotonic timing', async () => {
    const r = await ssh('alice.smith', alice, [], { tty: true, input: 'echo first-$((40+2))\nprintf "second-%s\\n" done\nexit 3\n' });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('first-42');
    const row = (await latest('alice.smith', (x) => x.command === 'login shell'))!;
    expect(row).toMatchObject({ iamUser: 'Alice.Smith', iamKeyId: aliceKeyId, exit: 3, status: 'verified', flags: [] });
    const fp = (await run('ssh-keygen', ['-lf', `${alice.path}.pub`])).stdout.split(' ')[1];
    expect(row.key).toBe(fp);
    const cast = await c.exec(BIN, ['replay', row.sid, '--asciicast']);
    expect(cast.code).toBe(0);
    const [header, ...events] = cast.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown[]);
    expect(header).toMatchObject({ version: 2 });
    const output = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(output.indexOf('first-42')).toBeGreaterThan(-1);
    expect(output.indexOf('second-done')).toBeGreaterThan(output.indexOf('first-42'));
    expect(events.filter((e) => e[1] === 'i').map((e) => e[2]).join('')).toContain('echo first-$((40+2))');
    const times = events.map((e) => e[0] as number);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    // In the journal itself: every record of the session from one process, sequence numbers contiguous.
    const raw = (await c.must('journalctl', ['-a', '-o', 'json', '-t', 'iam-ssh-record', '--no-pager'])).stdout.split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, string>).filter((e) => e.MESSAGE!.includes(row.sid));
    expect(new Set(raw.map((e) => e._PID)).size).toBe(1);
    expect(raw.map((e) => (JSON.parse(e.MESSAGE!) as { seq: number }).seq)).toEqual(raw.map((_, i) => i));
  });

  test('an unrecorded user is not wrapped', async () => {
    const before = (await sessions()).length;
    const r = await ssh('bob.jones', bob, ['ps -o comm= -p $PPID; echo "[$SSH_ORIGINAL_COMMAND]"']);
    expect(r.stdout).toBe('sshd\n[]\n');
    expect((await sessions()).length).toBe(before);
  });

  test('scp (sftp via internal-sftp) and ssh host cmd are byte-exact and logged with command, exit and byte counts', async () => {
    const data = randomBytes(1 << 20);
    const local = join(keyDir, 'up.bin');
    writeFileSync(local, data);
    const up = await run('scp', [...sshArgs(alice).map((a) => (a === '-p' ? '-P' : a)), local, 'alice.smith@127.0.0.1:up.bin'], { env: { PATH: process.env.PATH, HOME: keyDir }, timeoutMs: 60_000 });
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    const down = await new Promise<Buffer>((resolve, reject) => {
      const p = spawn('ssh', [...sshArgs(alice), 'alice.smith@127.0.0.1', '--', 'cat up.bin'], { env: { PATH: process.env.PATH, HOME: keyDir }, stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => chunks.push(d));
      p.on('error', reject);
      p.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(createHash('sha256').update(down).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const rows = await sessions();
    const sftp = rows.filter((x) => x.user === 'alice.smith' && x.command === 'internal-sftp').at(-1)!;
    expect(sftp).toMatchObject({ exit: 0, status: 'verified' });
    expect(sftp.bytes!.i).toBeGreaterThan(1 << 20);
    const cat = rows.filter((x) => x.user === 'alice.smith' && x.command === 'cat up.bin').at(-1)!;
    expect(cat).toMatchObject({ exit: 0, status: 'verified', bytes: { i: 0, o: 1 << 20, e: 0 } });
  });

  test('-L forwarding is refused for a recorded user', async () => {
    const port = await freePort();
    const fwd = spawn('ssh', [...sshArgs(alice, ['-N', '-L', `127.0.0.1:${port}:127.0.0.1:${c.sshPort}`]), 'alice.smith@127.0.0.1'].map((a) => (a === 'LogLevel=ERROR' ? 'LogLevel=INFO' : a)), { env: { PATH: process.env.PATH, HOME: keyDir } });
    let err = '';
    fwd.stderr.on('data', (d) => (err += d));
    try {
      let got = '';
      for (let i = 0; i < 50 && got === ''; i++) {
        await sleep(200);
        got = await new Promise<string>((resolve) => {
          const s = connect(port, '127.0.0.1');
          let b = '';
          s.on('data', (d) => (b += d));
          s.on('error', () => resolve(''));
          s.on('close', () => resolve(b || 'closed'));
          setTimeout(() => s.destroy(), 2000);
        });
      }
      // The tunnel is closed at once: the SSH banner of the far side never comes through.
      expect(got).toBe('closed');
      await sleep(300);
      expect(err).toMatch(/administratively prohibited|open failed/);
    } finally {
      fwd.kill();
    }
  });

  test('killing script ends the session and the recording says so', async () => {
    const r = await ssh('alice.smith', alice, [], { tty: true, input: 'kill -9 $PPID\nsleep 1; echo still-$((1+1))\n' });
    expect(r.stdout).not.toContain('still-2');
    const row = (await latest('alice.smith', (x) => x.command === 'login shell'))!;
    expect(row.status).toBe('FLAGGED');
    expect(row.flags.join('\n')).toMatch(/script was killed by SIGKILL/);
  });

  test('a client that goes away ends the session without a flag', async () => {
    const before = new Set((await sessions()).map((x) => x.sid));
    const p = spawn('ssh', [...sshArgs(alice, ['-tt']), 'alice.smith@127.0.0.1'], { env: { PATH: process.env.PATH, HOME: keyDir }, stdio: ['pipe', 'ignore', 'ignore'] });
    p.stdin.write('sleep 60\n');
    await sleep(3000);
    p.kill('SIGKILL');
    let row: Row | undefined;
    for (let i = 0; i < 30 && (row?.exit ?? null) === null; i++) {
      await sleep(500);
      row = await latest('alice.smith', (x) => x.command === 'login shell' && !before.has(x.sid));
    }
    expect(row?.exit).not.toBeNull();
    expect(row!.flags).toEqual([]);
  }, 120_000);

  test('records forged with the recorder identifier are flagged by replay and left out', async () => {
    const target = (await latest('alice.smith', (x) => x.command === 'login shell' && x.status === 'verified'))
      ?? (await sessions()).find((x) => x.user === 'alice.smith' && x.status === 'verified')!;
    const forged = JSON.stringify({ k: 'o', sid: target.sid, seq: 2, t: 1, d: 'FORGED-OUTPUT' });
    const w = await ssh('alice.smith', alice, [`echo '${forged}' | systemd-cat -t iam-ssh-record`]);
    expect(w.code).toBe(0);
    await sleep(500);
    const cast = await c.exec(BIN, ['replay', target.sid, '--asciicast']);
    expect(cast.code).toBe(3);
    expect(cast.stderr).toMatch(/forged record/);
    expect(cast.stdout).not.toContain('FORGED-OUTPUT');
  });

  test('with journald stopped, a recorded login is refused; an unrecorded one is not', async () => {
    const units = ['systemd-journald.socket', 'systemd-journald-dev-log.socket', 'systemd-journald-audit.socket', 'systemd-journald.service'];
    await c.exec('systemctl', ['stop', ...units]);
    try {
      const r = await ssh('alice.smith', alice, ['echo ran']);
      expect(r.stdout).not.toContain('ran');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot reach journald.*session refused/);
      expect((await ssh('bob.jones', bob, ['echo ran'])).stdout).toBe('ran\n');
    } finally {
      await c.exec('systemctl', ['start', ...units]);
    }
  });

  test('a session printing 50 MB keeps the recorder RSS bounded', async () => {
    // In the session: sample the recorder's RSS (script's parent) while 50 MB of text go by.
    const script = 'R=$(ps -o ppid= -p $PPID | tr -d " "); (while :; do ps -o rss= -p $R; sleep 0.1; done) > /tmp/rss 2>/dev/null & S=$!; ' +
      'head -c 37500000 /dev/zero | base64 -w 120; kill $S; sort -n /tmp/rss | tail -1 > /tmp/rss-max; exit 0\n';
    const code = await new Promise<number | null>((resolve) => {
      const p = spawn('ssh', [...sshArgs(alice, ['-tt']), 'alice.smith@127.0.0.1'], { env: { PATH: process.env.PATH, HOME: keyDir }, stdio: ['pipe', 'ignore', 'ignore'] });
      p.stdin.end(script);
      p.on('close', resolve);
    });
    expect(code).toBe(0);
    const maxKb = Number((await c.must('cat', ['/tmp/rss-max'])).stdout.trim());
    process.stdout.write(`recorder max RSS while printing 50 MB: ${(maxKb / 1024).toFixed(1)} MiB\n`);
    expect(maxKb).toBeGreaterThan(0);
    expect(maxKb).toBeLessThan(200 * 1024);
    const row = (await latest('alice.smith', (x) => x.command === 'login shell'))!;
    expect(row.bytes!.o).toBeGreaterThan(50_000_000);
  });

  test("code the user runs before the recorder (bash's ~/.bashrc under sshd) is listed as an UNRECORDED login", async () => {
    // Debian's bash reads ~/.bashrc when sshd starts it, before the forced command runs.
    await c.writeFile('/home/alice.smith/.bashrc', '[ -z "$PS1" ] && exec /bin/echo bypassed\n', '0644');
    try {
      const r = await ssh('alice.smith', alice, ['echo ran']);
      expect(r.stdout).toBe('bypassed\n');
      const row = (await sessions()).filter((x) => x.user === 'alice.smith').at(-1)!;
      expect(row).toMatchObject({ status: 'UNRECORDED', sid: '-' });
    } finally {
      await c.must('rm', ['/home/alice.smith/.bashrc']);
    }
  });

  test('uninstall removes the block: the user is no longer forced through the recorder', async () => {
    const r = await c.exec(BIN, ['uninstall'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect((await c.exec('test', ['-e', '/etc/ssh/sshd_config.d/01-iam-ssh-record.conf'])).code).toBe(1);
    expect((await c.must('sshd', ['-T', '-C', 'user=alice.smith,host=x,addr=127.0.0.1'])).stdout).toContain('forcecommand none\n');
  });
});
