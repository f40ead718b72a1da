// Fleet simulation of snapshot mode, against the emulator's IAM, S3 and KMS behind a proxy
// that counts every call: `iam-ssh publish` once (the built executable), then fleets of
// N = 1, 10, 100 and as many instances as this machine starts within a time budget. Each
// instance is a process of its own with its own STATE_DIR and config, running sync's snapshot
// read path (scripts/bench-fleet-instance.ts); each fleet runs three rounds: the first sync, a
// sync with nothing changed (S3 answers 304), and a sync after an IAM change and a publish.
// Prints calls per publish and per instance, then calls per minute against N with a sync every
// 60 s and a publish every 10 minutes. Run by `npm run bench`; not a test.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CreateGroupCommand, CreateUserCommand, AddUserToGroupCommand, UploadSSHPublicKeyCommand, RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { KMSClient, CreateKeyCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { Moto, TEST_CREDENTIALS } from '../test/helpers/moto';
import { AwsCountingProxy } from '../test/helpers/aws-counting-proxy';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'dist', 'iam-ssh');
const USERS = Number(process.env.BENCH_FLEET_USERS ?? 100);
const STEPS = [1, 10, 100];
/** The open-ended fleet: started until this many seconds have passed, at most MAX instances. */
const BUDGET_S = Number(process.env.BENCH_FLEET_BUDGET_S ?? 60);
const MAX = Number(process.env.BENCH_FLEET_MAX ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_FLEET_CONCURRENCY ?? 8);
const SYNC_INTERVAL_S = 60;
const PUBLISH_INTERVAL_S = 600;
const BUCKET = 'fleet-access';
const URL_ = `s3://${BUCKET}/iam-ssh/access.json`;
const GROUPS = ['ssh-users', 'admins'];

// The instances' environment: what sync would have under systemd (no NODE_EXTRA_CA_CERTS, which
// costs every Node start ~35 ms here and which no unit sets).
const ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

function ed25519Line(): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')}`;
}

type Counts = Record<string, number>;
const diff = (after: Counts, before: Counts): Counts =>
  Object.fromEntries(Object.entries(after).map(([k, n]) => [k, n - (before[k] ?? 0)]).filter(([, n]) => (n as number) > 0));
const sumOf = (c: Counts, prefix: string) => Object.entries(c).filter(([k]) => k.startsWith(prefix)).reduce((a, [, n]) => a + n, 0);

interface InstanceResult { kind: string; serial: number | null; events?: string[]; error?: string }
interface Round { label: string; n: number; done: number; ms: number; calls: Counts; statuses: Counts; kinds: Counts }

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function runInstance(worker: string, config: string): Promise<InstanceResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [worker, config], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as InstanceResult);
      } catch {
        resolve({ kind: 'error', serial: null, error: err || out });
      }
    });
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'iam-ssh-bench-fleet-'));
  const worker = join(ROOT, 'dist', 'scripts', 'bench-fleet-instance.cjs');
  // One file with the SDK inside, as in the executable: no module resolution at each start.
  await build({ entryPoints: [join(ROOT, 'scripts/bench-fleet-instance.ts')], outfile: worker, bundle: true, minify: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning' });
  const moto = await Moto.start();
  const proxy = await AwsCountingProxy.start(moto.url);
  try {
    // IAM: USERS users with one key each, all in ssh-users, every tenth in admins.
    const iam = moto.iam();
    for (const g of GROUPS) await iam.send(new CreateGroupCommand({ GroupName: g }));
    for (let i = 0; i < USERS; i++) {
      const name = `fleet.user${i}`;
      await iam.send(new CreateUserCommand({ UserName: name }));
      await iam.send(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: name }));
      if (i % 10 === 0) await iam.send(new AddUserToGroupCommand({ GroupName: 'admins', UserName: name }));
      await iam.send(new UploadSSHPublicKeyCommand({ UserName: name, SSHPublicKeyBody: ed25519Line() }));
    }
    const client = { region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS };
    const s3 = new S3Client({ ...client, forcePathStyle: true });
    const kms = new KMSClient(client);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const keyArn = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.Arn!;
    const der = (await kms.send(new GetPublicKeyCommand({ KeyId: keyArn }))).PublicKey!;
    const pem = join(work, 'snapshot-key.pem');
    writeFileSync(pem, createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }));
    chmodSync(pem, 0o644);
    s3.destroy();
    kms.destroy();

    const common = [`SNAPSHOT_URL=${URL_}`, `IAM_AUTHORIZED_GROUPS=${GROUPS[0]}`, `SUDOERS_GROUPS=${GROUPS[1]}`, 'AWS_REGION=us-east-1', `AWS_ENDPOINT_URL=${proxy.url}`];
    const publisherDir = join(work, 'publisher');
    mkdirSync(publisherDir);
    const publisherConf = join(publisherDir, 'iam-ssh.conf');
    writeFileSync(publisherConf, [...common, `SNAPSHOT_KMS_KEY=${keyArn}`, `STATE_DIR=${publisherDir}/state`, `CACHE_DIR=${publisherDir}/cache`, 'MAX_REMOVALS=100000'].join('\n') + '\n');
    const publishes: { label: string; ms: number; calls: Counts; out: string }[] = [];
    // Asynchronous: the counting proxy runs in this process and must keep answering.
    const publish = async (label: string) => {
      const before = { ...proxy.counts };
      const t0 = performance.now();
      const r = await run(BIN, ['publish', '--config', publisherConf]);
      if (r.code !== 0) throw new Error(`publish exited ${r.code}: ${r.stdout}${r.stderr.slice(-2000)}`);
      publishes.push({ label, ms: performance.now() - t0, calls: diff(proxy.counts, before), out: r.stdout.trim() });
    };
    process.stderr.write(`bench-fleet: ${USERS} users; publishing\n`);
    await publish('first publish');
    await publish('scheduled publish, nothing changed');

    let made = 0;
    const makeInstance = (): string => {
      const dir = join(work, `i-${String(++made).padStart(5, '0')}`);
      mkdirSync(join(dir, 'state'), { recursive: true });
      mkdirSync(join(dir, 'cache'), { recursive: true });
      const conf = join(dir, 'iam-ssh.conf');
      writeFileSync(conf, [...common, `SNAPSHOT_PUBLIC_KEY=${pem}`, `STATE_DIR=${dir}/state`, `CACHE_DIR=${dir}/cache`].join('\n') + '\n');
      return conf;
    };
    /** Runs the instances CONCURRENCY at a time; with a deadline, starts no new one past it. */
    const round = async (label: string, configs: string[], deadline = Infinity): Promise<Round> => {
      const before = { ...proxy.counts };
      const statusesBefore = { ...proxy.s3Statuses };
      const kinds: Counts = {};
      let next = 0;
      let done = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < configs.length && performance.now() < deadline) {
          const r = await runInstance(worker, configs[next++]!);
          kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
          if (r.kind === 'error' || r.kind === 'stop') process.stderr.write(`bench-fleet: ${label}: ${r.error ?? r.events?.join('; ')}\n`);
          done++;
        }
      }));
      return { label, n: configs.length, done, ms: performance.now() - t0, calls: diff(proxy.counts, before), statuses: diff(proxy.s3Statuses, statusesBefore), kinds };
    };
    const rounds: Round[] = [];
    let removed = 0;
    const fleet = async (configs: string[]) => {
      const n = configs.length;
      process.stderr.write(`bench-fleet: ${n} instances\n`);
      rounds.push(await round(`N=${n}: first sync`, configs));
      rounds.push(await round(`N=${n}: nothing changed`, configs));
      await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: `fleet.user${USERS - 1 - removed++}` }));
      await publish(`publish after a change (N=${n})`);
      rounds.push(await round(`N=${n}: after a change`, configs));
    };
    for (const n of STEPS) await fleet(Array.from({ length: n }, makeInstance));
    // As many as start within the budget: instances are made and synced until it runs out.
    process.stderr.write(`bench-fleet: as many instances as start in ${BUDGET_S} s (at most ${MAX})\n`);
    const open = Array.from({ length: MAX }, makeInstance);
    const first = await round('first sync', open, performance.now() + BUDGET_S * 1000);
    const largest = open.slice(0, first.done);
    rounds.push({ ...first, label: `N=${largest.length}: first sync (${BUDGET_S} s budget)`, n: largest.length });
    rounds.push(await round(`N=${largest.length}: nothing changed`, largest));
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: `fleet.user${USERS - 1 - removed++}` }));
    await publish(`publish after a change (N=${largest.length})`);
    rounds.push(await round(`N=${largest.length}: after a change`, largest));
    iam.destroy();
    report(publishes, rounds);
  } finally {
    await proxy.stop();
    await moto.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function report(publishes: { label: string; ms: number; calls: Counts; out: string }[], rounds: Round[]): void {
  const fmt = (c: Counts) => Object.entries(c).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
  console.log(`\n## iam-ssh fleet bench: snapshot mode\n\n${USERS} IAM users with one key each (all in ssh-users, every tenth in admins); emulator on loopback; ${CONCURRENCY} instance processes at a time on ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end (wall times depend on it; the calls do not)\n`);
  console.log('| publish | wall time | calls at the proxy |');
  console.log('| --- | ---: | --- |');
  for (const p of publishes) console.log(`| ${p.label} | ${(p.ms / 1000).toFixed(2)} s | ${fmt(p.calls)} |`);
  console.log('\n| round | instances done | wall time | IAM | S3 GetObject 200 | S3 GetObject 304 | KMS | results |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of rounds) {
    console.log(`| ${r.label} | ${r.done} | ${(r.ms / 1000).toFixed(1)} s | ${sumOf(r.calls, 'iam:')} | ${r.statuses['GetObject 200'] ?? 0} | ${r.statuses['GetObject 304'] ?? 0} | ${sumOf(r.calls, 'kms:')} | ${fmt(r.kinds)} |`);
  }
  // Per minute, with every instance syncing once a minute and one publish every 10 minutes
  // (the schedule; an access change adds one): the counts measured above, scaled.
  const steady = publishes.find((p) => p.label.includes('nothing changed'))!;
  const perPublish = { iam: sumOf(steady.calls, 'iam:'), s3: sumOf(steady.calls, 's3:'), kms: sumOf(steady.calls, 'kms:') };
  const perMin = 60 / PUBLISH_INTERVAL_S;
  console.log(`\nPer minute, every instance syncing every ${SYNC_INTERVAL_S} s and a publish every ${PUBLISH_INTERVAL_S / 60} minutes, nothing changing (the "nothing changed" publish and rounds):\n`);
  console.log('| instances N | IAM calls/min | S3 GETs/min | KMS calls/min | IAM calls/min per instance |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const r of rounds.filter((x) => x.label.includes('nothing changed'))) {
    const iam = perPublish.iam * perMin + sumOf(r.calls, 'iam:') * (60 / SYNC_INTERVAL_S);
    const s3 = perPublish.s3 * perMin + sumOf(r.calls, 's3:') * (60 / SYNC_INTERVAL_S);
    const kms = perPublish.kms * perMin + sumOf(r.calls, 'kms:') * (60 / SYNC_INTERVAL_S);
    console.log(`| ${r.n} | ${iam.toFixed(1)} | ${s3.toFixed(1)} | ${kms.toFixed(1)} | ${(iam / r.n).toFixed(3)} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
