// Benchmark of `iam-ssh sync` with 1,000 IAM users in 5 groups, each with one SSH key, against
// the emulator inside a private mount namespace: the first run and no-op re-runs in the default
// mode, then with KEYS_MODE=file and with KEYS_PREFETCH=yes. Wall time, the IAM calls seen at
// the proxy, peak RSS (GNU time) and the account commands each run made (a tripwire on the
// account tools). Run by `npm run bench`; not a test.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedBenchUsers } from './bench-iam-users';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../test/helpers/sync-env';
import { makeClientKey, prepareCommandUser } from '../test/helpers/sshd';
import { installAccountTripwire, takeAccountCommands } from '../test/helpers/account-tripwire';

const USERS = Number(process.env.BENCH_SYNC_USERS ?? 1000);
const GROUPS = 5;
const NOOP_RUNS = 5;
const GNU_TIME = '/usr/bin/time';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Run { ms: number; calls: Record<string, number>; changes: number; rssKb: number | null; accountCommands: number }

async function main(): Promise<void> {
  const env = await SyncEnv.start();
  const keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-bench-sync-'));
  try {
    const key = await makeClientKey(keyDir, 'bench');
    const iam = env.moto.iam();
    const groups = await seedBenchUsers(iam, USERS, GROUPS, key.publicLine);
    iam.destroy();
    await prepareCommandUser(env.ns);
    const base = { IAM_AUTHORIZED_GROUPS: groups.join(','), SUDOERS_GROUPS: groups[0]!, MAX_REMOVALS: '10', ...(await installAccountTripwire(env.ns)) };
    const gnuTime = existsSync(GNU_TIME);

    const once = async (): Promise<Run> => {
      env.proxy.resetCounts();
      const t0 = performance.now();
      const r = gnuTime
        ? await env.ns.exec(GNU_TIME, ['-f', '%M', BIN_IN_NS, 'sync', '--wait', '0'], { env: AWS_ENV, timeoutMs: 600_000 })
        : await env.sync();
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`sync exited ${r.code}: ${r.stderr.slice(-2000)}`);
      const lines = r.stderr.split('\n').filter(Boolean);
      const done = lines.map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((l) => l.event === 'sync.done');
      const rssKb = gnuTime ? Number(lines[lines.length - 1]) : null;
      return { ms, calls: { ...env.proxy.counts }, changes: Number(done?.changes ?? NaN), rssKb, accountCommands: (await takeAccountCommands(env.ns)).length };
    };
    const rows: [string, Run, string][] = [];
    const series = async (label: string, settings: Record<string, string>) => {
      await env.config({ ...base, ...settings });
      process.stderr.write(`bench-sync: ${label}\n`);
      const first = await once();
      const noop: Run[] = [];
      for (let i = 0; i < NOOP_RUNS; i++) noop.push(await once());
      const mid = noop.find((r) => r.ms === median(noop.map((n) => n.ms)))!;
      rows.push([`${label}: first run`, first, ''], [`${label}: no-op re-run`, mid, ` (median of ${NOOP_RUNS})`]);
    };
    await series('default (command mode)', {});
    await series('KEYS_MODE=file', { KEYS_MODE: 'file' });
    await series('KEYS_PREFETCH=yes', { KEYS_PREFETCH: 'yes' });

    const calls = (c: Record<string, number>) => Object.entries(c).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    console.log(`\n## iam-ssh sync benchmark\n\n${USERS} IAM users in ${GROUPS} groups, one SSH key each (emulator on loopback, real shadow tools in a mount namespace)\n`);
    console.log('| run | wall time | IAM calls (at the proxy) | changes applied | account commands | peak RSS MiB |');
    console.log('| --- | ---: | --- | ---: | ---: | ---: |');
    for (const [label, r, note] of rows) {
      const wall = r.ms >= 1000 ? `${(r.ms / 1000).toFixed(1)} s` : `${r.ms.toFixed(0)} ms`;
      console.log(`| ${label}${note} | ${wall} | ${calls(r.calls)} | ${r.changes} | ${r.accountCommands} | ${r.rssKb === null ? 'n/a' : (r.rssKb / 1024).toFixed(1)} |`);
    }
    const noopCommands = rows.filter(([label]) => label.includes('no-op')).reduce((n, [, r]) => n + r.accountCommands, 0);
    console.log(`\nAccount commands (useradd, usermod, userdel, groupadd, gpasswd, pkill) over all ${NOOP_RUNS * 3} no-op runs: ${noopCommands}.`);
    if (noopCommands !== 0) process.exitCode = 1;
  } finally {
    await env.stop();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
