// Benchmark of `iam-ssh sync` with 1,000 IAM users in 5 groups against the emulator, inside a
// private mount namespace: the first run (creates every account) and a no-op re-run, with wall
// time and the IAM calls the run reports. Run by `npm run bench`; not a test.
import { CreateGroupCommand, CreateUserCommand, AddUserToGroupCommand } from '@aws-sdk/client-iam';
import { SyncEnv } from '../test/helpers/sync-env';

const USERS = Number(process.env.BENCH_SYNC_USERS ?? 1000);
const GROUPS = 5;
const NOOP_RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const env = await SyncEnv.start();
  try {
    const iam = env.moto.iam();
    const groups = Array.from({ length: GROUPS }, (_, i) => `bench-group-${i}`);
    for (const g of groups) await iam.send(new CreateGroupCommand({ GroupName: g }));
    for (let i = 0; i < USERS; i++) {
      const name = `Bench.User${i}`;
      await iam.send(new CreateUserCommand({ UserName: name }));
      await iam.send(new AddUserToGroupCommand({ GroupName: groups[i % GROUPS]!, UserName: name }));
    }
    iam.destroy();
    await env.config({ IAM_AUTHORIZED_GROUPS: groups.join(','), SUDOERS_GROUPS: groups[0]!, MAX_REMOVALS: '10' });

    const runs: { label: string; ms: number; calls: unknown; changes: unknown }[] = [];
    const once = async (label: string) => {
      env.proxy.resetCounts();
      const t0 = performance.now();
      const r = await env.sync();
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`sync exited ${r.code}: ${r.stderr.slice(-2000)}`);
      const done = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.event === 'sync.done');
      runs.push({ label, ms, calls: { ...env.proxy.counts }, changes: done?.changes });
    };
    await once('first run');
    for (let i = 0; i < NOOP_RUNS; i++) await once('no-op');

    const first = runs[0]!;
    const noop = runs.slice(1);
    console.log(`\nsync of ${USERS} IAM users in ${GROUPS} groups (emulator on loopback, real shadow tools in a mount namespace)\n`);
    console.log('| run | wall time | IAM calls (at the proxy) | changes applied |');
    console.log('| --- | ---: | --- | ---: |');
    console.log(`| first run (creates every account) | ${(first.ms / 1000).toFixed(1)} s | ${JSON.stringify(first.calls)} | ${first.changes} |`);
    console.log(`| no-op re-run (median of ${NOOP_RUNS}) | ${median(noop.map((r) => r.ms)).toFixed(0)} ms | ${JSON.stringify(noop[0]!.calls)} | ${noop[0]!.changes} |`);
  } finally {
    await env.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
