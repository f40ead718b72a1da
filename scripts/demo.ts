/**
 * A narrated end-to-end demonstration, as root on a Debian machine: IAM users live in the
 * moto emulator, a real sshd in a private mount namespace asks `iam-ssh keys` for their keys,
 * and a real ssh client logs in. Nothing outside the namespace is changed. Usage: npm run demo
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Moto, TEST_CREDENTIALS } from '../test/helpers/moto';
import { MountNamespace, canUseNamespaces } from '../test/helpers/namespace';
import { Sshd, makeClientKey, sshLogin, type ClientKey } from '../test/helpers/sshd';
import { events, logLines, requireBinary, run, type RunResult } from '../test/helpers/run';

const INSTALLED = '/usr/local/sbin/iam-ssh';
const COMMAND_HOME = '/var/lib/iam-ssh-home';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const GROUP = 'ssh-users';

let failures = 0;
let interrupted = false;
const say = (text = '') => void (interrupted || console.log(text));
/** Starts a numbered step; after an interrupt, nothing new is started. */
function step(title: string): void {
  if (interrupted) throw new Error('interrupted');
  say(`\n=== ${title}\n`);
}
const indent = (text: string, prefix = '    ') => text.trimEnd().split('\n').map((l) => prefix + l).join('\n');
function verdict(ok: boolean, what: string): void {
  say(ok ? `  -> as expected: ${what}` : `  -> NOT AS SHOWN: ${what}`);
  if (!ok) failures++;
}
function shown(cmd: string, r: RunResult): void {
  say(`  $ ${cmd}`);
  if (r.stdout.trim()) say(indent(r.stdout));
  if (r.stderr.trim()) say(indent(r.stderr, '    (stderr) '));
  say(`    (exit ${r.code})`);
}

// Everything started is stopped in reverse order, on success, on error and on Ctrl-C.
const stops: (() => Promise<unknown>)[] = [];
let stopping: Promise<void> | null = null;
async function bounded(p: Promise<unknown>, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch((e: unknown) => console.error(`demo: while stopping: ${String(e)}`)),
    new Promise((r) => (timer = setTimeout(r, ms))),
  ]);
  clearTimeout(timer);
}
/** Registers a resource as soon as it starts, so that an interrupt during start-up still stops it. */
function own<T>(start: Promise<T>, stop: (t: T) => Promise<unknown>): Promise<T> {
  const stopIt = () => start.then(stop, () => {});
  if (stopping) {
    void bounded(stopIt());
    throw new Error('interrupted');
  }
  stops.push(stopIt);
  return start;
}
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    while (stops.length) await bounded(stops.pop()!());
  })();
  return stopping;
}

async function main(): Promise<void> {
  if (!canUseNamespaces()) throw new Error('run the demo as root: it creates a private mount namespace');
  const bin = requireBinary();

  step('1. IAM: the moto emulator, seeded with sample users');
  const moto = await own(Moto.start(), (m) => m.stop());
  const keyDir = await own(Promise.resolve(mkdtempSync(join(tmpdir(), 'iam-ssh-demo-'))), async (d) => rmSync(d, { recursive: true, force: true }));
  const key = (name: string) => makeClientKey(keyDir, name);
  const alice: ClientKey = await key('alice');
  const aliceOld = await key('alice-old');
  const carol = await key('carol');
  const outsider = await key('outsider');
  const ids = await moto.seed({
    groups: [GROUP],
    users: [
      { name: 'Alice.Smith', groups: [GROUP], keys: [{ body: alice.publicLine }, { body: aliceOld.publicLine, inactive: true }] },
      { name: 'Carol+ops@corp.example', groups: [GROUP], keys: [{ body: carol.publicLine }] },
      { name: 'Outsider', keys: [{ body: outsider.publicLine }] },
    ],
  });
  say(`  moto is listening on ${moto.url}. IAM group "${GROUP}" and three IAM users:`);
  say(`    Alice.Smith             in ${GROUP}   key ${ids['Alice.Smith']![0]} Active, key ${ids['Alice.Smith']![1]} Inactive`);
  say(`    Carol+ops@corp.example  in ${GROUP}   key ${ids['Carol+ops@corp.example']![0]} Active`);
  say(`    Outsider                in no group  key ${ids['Outsider']![0]} Active`);
  say('  The private halves of these keys are in a temporary directory of this machine.');

  step('2. The host: a private mount namespace standing in for an EC2 instance');
  const ns = await own(MountNamespace.create(), (n) => n.stop());
  await ns.must('install', ['-o', 'root', '-g', 'root', '-m', '0755', bin, INSTALLED]);
  say(`  Installed the binary as ${INSTALLED} (root-owned, as sshd requires).`);
  await ns.must('useradd', ['--system', '--home-dir', COMMAND_HOME, '--create-home', '--shell', '/usr/sbin/nologin', 'iam-ssh']);
  await ns.must('install', ['-d', '-o', 'iam-ssh', '-m', '0700', `${COMMAND_HOME}/.aws`, '/var/cache/iam-ssh']);
  await ns.writeFile(`${COMMAND_HOME}/.aws/credentials`,
    `[default]\naws_access_key_id = ${TEST_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${TEST_CREDENTIALS.secretAccessKey}\n`, '0600');
  await ns.must('chown', ['iam-ssh', `${COMMAND_HOME}/.aws/credentials`]);
  say(`  Created the unprivileged command user "iam-ssh" with ${COMMAND_HOME}/.aws/credentials`);
  say('  (standing in for the instance role) and its private cache directory /var/cache/iam-ssh.');
  const conf = `IAM_AUTHORIZED_GROUPS="${GROUP}"\nAWS_ENDPOINT_URL="${moto.url}"\n`;
  await ns.writeFile('/etc/iam-ssh.conf', conf);
  say('  /etc/iam-ssh.conf:');
  say(indent(conf));

  step('3. Local accounts');
  const members = ['alice.smith', 'carol.plus.ops.at.corp.example'];
  // `iam-ssh <anything> --help` exits 0 with the general help, so the usage line is what tells.
  const syncHelp = await run(bin, ['sync', '--help']);
  const hasSync = syncHelp.code === 0 && syncHelp.stdout.startsWith('iam-ssh sync');
  if (hasSync) {
    shown('iam-ssh sync', await ns.must(INSTALLED, ['sync'], {
      env: { PATH: SYSTEM_PATH, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey },
    }));
  }
  for (const user of [...(hasSync ? [] : members), 'outsider']) {
    await ns.must('useradd', ['--create-home', '--shell', '/bin/sh', '--password', '*', user]);
    say(`  useradd ${user}`);
  }
  say('  IAM names map to local names: lower case, and + = , @ spelled out as .plus. .equal. .comma. .at.');
  say('  "outsider" gets a local account too, so that only iam-ssh stands between it and a login.');
  for (const user of [...members, 'outsider']) {
    const r = await ns.exec('id', [user]);
    say(`    ${r.code === 0 ? r.stdout.trim() : `${user}: no such account`}`);
    if (members.includes(user)) verdict(r.code === 0, `local account ${user} exists`);
  }

  step('4. sshd with iam-ssh as its AuthorizedKeysCommand');
  const sshdLines = ['UsePAM no', 'AuthorizedKeysFile none', `AuthorizedKeysCommand ${INSTALLED} keys %u %f`, 'AuthorizedKeysCommandUser iam-ssh'];
  const sshd = await own(Sshd.start(ns, sshdLines), async () => {}); // stopped with the namespace
  say(`  sshd listens on 127.0.0.1:${sshd.port} with, among its settings:`);
  say(indent(sshdLines.join('\n')));
  say('  No authorized_keys file is read: keys come only from IAM.');

  step('5. What sshd sees: `iam-ssh keys alice.smith`, run as the command user');
  const keys = await ns.exec('runuser', ['-u', 'iam-ssh', '--', INSTALLED, 'keys', 'alice.smith'], { env: { PATH: SYSTEM_PATH } });
  shown('runuser -u iam-ssh -- iam-ssh keys alice.smith', keys);
  verdict(keys.code === 0 && keys.stdout === `${alice.publicLine}\n`, 'only the Active key of IAM user Alice.Smith is printed; the Inactive one is not');
  say('  The JSON line on stderr is the diagnostic that sshd copies into its log.');
  if (events(keys.stderr, 'keys.served')[0]?.source === 'miss') {
    say("  This run read IAM and filled alice.smith's cache entry: her logins below are served from it.");
  }

  step('6. A real ssh login with the Active key');
  const login = await sshLogin(sshd.port, 'alice.smith', alice, ['id']);
  shown(`ssh -i alice alice.smith@127.0.0.1 id`, login);
  verdict(login.code === 0 && login.stdout.includes('(alice.smith)'), 'alice.smith is logged in');
  const carolLogin = await sshLogin(sshd.port, members[1]!, carol, ['id', '-un']);
  shown(`ssh -i carol ${members[1]}@127.0.0.1 id -un`, carolLogin);
  verdict(carolLogin.code === 0 && carolLogin.stdout.trim() === members[1], 'IAM user Carol+ops@corp.example logs in under the mapped local name');

  step('7. The Inactive key of the same IAM user is refused');
  const old = await sshLogin(sshd.port, 'alice.smith', aliceOld, ['id']);
  shown('ssh -i alice-old alice.smith@127.0.0.1 id', old);
  verdict(old.code === 255 && /Permission denied/.test(old.stderr), 'refused');

  step('8. An IAM user outside the authorized group is refused, although both the local account and an IAM key exist');
  const out = await sshLogin(sshd.port, 'outsider', outsider, ['id']);
  shown('ssh -i outsider outsider@127.0.0.1 id', out);
  const refusal = logLines(sshd.output).find((l) => l.event === 'keys.refused' && l.user === 'outsider');
  verdict(out.code === 255 && /Permission denied/.test(out.stderr) && refusal !== undefined, `refused; iam-ssh logged: ${String(refusal?.reason ?? 'nothing')}`);

  step("9. sshd's log ties each login to the IAM user and the IAM key id");
  const lines = sshd.output.split('\n').filter((l) => /"event":"keys\.|Accepted publickey|Failed publickey|Connection closed by authenticating/.test(l));
  say(indent(lines.join('\n'), '  '));
  const fingerprint = /Accepted publickey for alice\.smith from \S+ port \d+ ssh2: \S+ (SHA256:\S+)/.exec(sshd.output)?.[1];
  const served = logLines(sshd.output).find((l) => l.event === 'keys.served' && l.requested === fingerprint && l.matchedKeyId === ids['Alice.Smith']![0]);
  verdict(fingerprint !== undefined && served?.iamUser === 'Alice.Smith',
    `sshd accepted ${fingerprint ?? '(no fingerprint)'} for alice.smith; iam-ssh served it as key ${String(served?.matchedKeyId)} of IAM user ${String(served?.iamUser)}`);
}

function runDemo(): void {
  // On an interrupt, everything is stopped at once; the steps under way then fail fast and unwind.
  process.on('SIGINT', () => {
    if (interrupted) return;
    say('\ninterrupted: stopping everything');
    interrupted = true;
    process.exitCode = 130;
    void stopAll();
  });
  main().then(
    async () => {
      say('\n=== 10. Stopping sshd, the namespace and moto');
      await stopAll();
      say(failures ? `\nDemo finished: ${failures} step(s) did NOT behave as shown.` : '\nDemo finished: every step behaved as shown.');
      if (!interrupted) process.exitCode = failures ? 1 : 0;
    },
    async (e: unknown) => {
      if (!interrupted) console.error(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`);
      await stopAll();
      if (!interrupted) process.exitCode = 1;
    },
  );
}

/**
 * Ctrl-C signals the terminal's whole foreground process group, which would kill moto, sshd
 * and the namespace holder under the demo's feet. The demo therefore runs in a session of
 * its own, and this process passes interrupts on to it so that it stops everything in order.
 */
function supervise(): void {
  const child = spawn(process.execPath, process.argv.slice(1), {
    detached: true, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, IAM_SSH_DEMO_SESSION: '1' },
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill('SIGINT'));
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
}

if (process.env.IAM_SSH_DEMO_SESSION === '1') runDemo();
else supervise();
