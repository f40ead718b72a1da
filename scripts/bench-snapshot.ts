// Benchmark of `iam-ssh sync` from the signed access snapshot with 1,000 IAM users in 5 groups
// (one SSH key each), against the emulator inside a private mount namespace: publish, the first
// sync (it creates the accounts), runs answered 304, and runs after a changed snapshot (one new
// key per run, so the whole body is fetched, verified, planned and the keys cache rewritten).
// Wall time, the AWS calls seen at the proxy, peak RSS (GNU time). Run as root:
// node scripts/run-ts.mjs scripts/bench-snapshot.ts. Not a test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { seedBenchUsers } from './bench-iam-users';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../test/helpers/sync-env';
import { makeClientKey, prepareCommandUser } from '../test/helpers/sshd';
import { createBucket, createSigningKey } from '../test/helpers/snapshot';
import { generateSshKey } from '../test/helpers/ssh-wire';
import { defaults } from '../src/config/config';
import { createPublishDeps, publishSnapshot } from '../src/publish/publish';

const USERS = Number(process.env.BENCH_SYNC_USERS ?? 1000);
const GROUPS = 5;
const RUNS = Number(process.env.BENCH_SNAPSHOT_RUNS ?? 5);
const GNU_TIME = '/usr/bin/time';
const URL = 's3://bench-fleet-access/prod/access.json';

interface Run { ms: number; calls: Record<string, number>; changes: number; rssKb: number }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const env = await SyncEnv.start();
  const keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-bench-snapshot-'));
  try {
    const key = await makeClientKey(keyDir, 'bench');
    const iam = env.moto.iam();
    const groups = await seedBenchUsers(iam, USERS, GROUPS, key.publicLine);
    await createBucket(env.moto.url, 'bench-fleet-access');
    const signing = await createSigningKey(env.moto.url);
    process.env.AWS_ACCESS_KEY_ID = AWS_ENV.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = AWS_ENV.AWS_SECRET_ACCESS_KEY;
    const publisher = { ...defaults(), awsEndpointUrl: env.proxy.url, authorizedGroups: groups, sudoersGroups: [groups[0]!], snapshotUrl: URL, snapshotKmsKey: signing.arn, maxRemovals: 10 };
    const publish = async () => {
      env.proxy.resetCounts();
      const t0 = performance.now();
      const o = await publishSnapshot(publisher, await createPublishDeps(publisher, { log: () => {} }));
      if (o.status !== 'published') throw new Error(`publish: ${o.status} ${o.reason ?? ''}`);
      return { ms: performance.now() - t0, calls: { ...env.proxy.counts }, changes: 0, rssKb: 0 };
    };
    await prepareCommandUser(env.ns);
    await env.ns.must('mkdir', ['-p', '/etc/iam-ssh']);
    await env.ns.writeFile('/etc/iam-ssh/snapshot.pem', signing.pem, '0644');
    await env.config({ IAM_AUTHORIZED_GROUPS: groups.join(','), SUDOERS_GROUPS: groups[0]!, MAX_REMOVALS: '10', SNAPSHOT_URL: URL, SNAPSHOT_PUBLIC_KEY: '/etc/iam-ssh/snapshot.pem' });

    const once = async (): Promise<Run> => {
      env.proxy.resetCounts();
      const t0 = performance.now();
      const r = await env.ns.exec(GNU_TIME, ['-f', '%M', BIN_IN_NS, 'sync', '--wait', '0'], { env: AWS_ENV, timeoutMs: 1_200_000 });
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`sync exited ${r.code}: ${r.stderr.slice(-2000)}`);
      const lines = r.stderr.split('\n').filter(Boolean);
      const done = lines.map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((l) => l.event === 'sync.done');
      return { ms, calls: { ...env.proxy.counts }, changes: Number(done?.changes ?? NaN), rssKb: Number(lines[lines.length - 1]) };
    };
    const rows: [string, Run][] = [];
    rows.push(['publish, first (every key body read)', await publish()]);
    process.stderr.write('bench-snapshot: first sync (creates the accounts)\n');
    rows.push(['sync, first snapshot (creates 1,000 accounts)', await once()]);
    const notModified: Run[] = [];
    for (let i = 0; i < RUNS; i++) notModified.push(await once());
    rows.push([`sync, 304 (median of ${RUNS})`, notModified.find((r) => r.ms === median(notModified.map((n) => n.ms)))!]);
    const changed: Run[] = [];
    const publishes: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      await iam.send(new UploadSSHPublicKeyCommand({ UserName: `Bench.User${i}`, SSHPublicKeyBody: generateSshKey('ed25519').line }));
      publishes.push(await publish());
      changed.push(await once());
    }
    iam.destroy();
    rows.push([`publish, one key added (median of ${RUNS})`, publishes.find((r) => r.ms === median(publishes.map((n) => n.ms)))!]);
    rows.push([`sync, changed snapshot: one key added (median of ${RUNS})`, changed.find((r) => r.ms === median(changed.map((n) => n.ms)))!]);

    const calls = (c: Record<string, number>) => Object.entries(c).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    console.log(`\n## iam-ssh sync from the access snapshot\n\n${USERS} IAM users in ${GROUPS} groups, one SSH key each (emulator on loopback, real shadow tools in a mount namespace)\n`);
    console.log('| run | wall time | AWS calls (at the proxy) | changes applied | peak RSS MiB |');
    console.log('| --- | ---: | --- | ---: | ---: |');
    for (const [label, r] of rows) {
      const wall = r.ms >= 1000 ? `${(r.ms / 1000).toFixed(1)} s` : `${r.ms.toFixed(0)} ms`;
      console.log(`| ${label} | ${wall} | ${calls(r.calls)} | ${label.startsWith('publish') ? 'n/a' : r.changes} | ${r.rssKb ? (r.rssKb / 1024).toFixed(1) : 'n/a (in process)'} |`);
    }
  } finally {
    await env.stop();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
