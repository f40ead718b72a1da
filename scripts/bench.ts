/**
 * Benchmark of `iam-ssh keys`, the command sshd runs at every login, next to process-start
 * floors measured in the same run with the same method. Not a test: it prints a Markdown
 * report on stdout. Usage: npm run bench [-- RUNS]   (default 30 timed runs per row)
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Moto, TEST_CREDENTIALS } from '../test/helpers/moto';
import { IamProxy } from '../test/helpers/iam-proxy';
import { ROOT, events, requireBinary, run, type RunResult } from '../test/helpers/run';
import { makeClientKey } from '../test/helpers/sshd';
import { authScope } from '../src/core/keys-cache-entry';
import { statePath, type SyncState } from '../src/local/sync-state';

const RUNS = Number(process.argv[2] ?? 30);
const WARMUPS = 3;
const RSS_RUNS = 5;
const GNU_TIME = '/usr/bin/time';

export interface MeasureOpts {
  env?: NodeJS.ProcessEnv;
  /** Runs before every spawn, outside the timed span. */
  before?: () => void;
  /** Throws when a run did not behave as the row claims. */
  check?: (r: RunResult) => void;
  warmups?: number;
}

export interface Stats {
  median: number;
  p90: number;
  min: number;
  /** Median of the peak RSS of RSS_RUNS extra runs under GNU time; null without it. */
  rssKb: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)]! + s[Math.ceil(mid)]!) / 2;
}

/** Spawns `cmd args` n times after warm-ups; wall time from spawn to exit, no shell. */
export async function measure(cmd: string, args: string[], opts: MeasureOpts = {}, n = RUNS): Promise<Stats> {
  const once = async (argv0: string, argv: string[]): Promise<RunResult> => {
    opts.before?.();
    const r = await run(argv0, argv, { env: opts.env ?? process.env });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    opts.check?.(r);
    return r;
  };
  for (let i = 0; i < (opts.warmups ?? WARMUPS); i++) await once(cmd, args);
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push((await once(cmd, args)).ms);
  ms.sort((a, b) => a - b);
  let rssKb: number | null = null;
  if (existsSync(GNU_TIME)) {
    const dir = mkdtempSync(join(tmpdir(), 'iam-ssh-rss-'));
    try {
      const rss: number[] = [];
      for (let i = 0; i < RSS_RUNS; i++) {
        await once(GNU_TIME, ['-f', '%M', '-o', join(dir, 'rss'), cmd, ...args]);
        rss.push(Number(readFileSync(join(dir, 'rss'), 'utf8').trim().split('\n').pop()));
      }
      rssKb = median(rss);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { median: median(ms), p90: ms[Math.ceil(0.9 * ms.length) - 1]!, min: ms[0]!, rssKb };
}

function expect(ok: boolean, what: string, r?: RunResult): void {
  if (!ok) throw new Error(`unexpected result: ${what}${r ? `\nstdout: ${r.stdout}\nstderr: ${r.stderr}` : ''}`);
}

const servedFrom = (source: string) => (r: RunResult) =>
  expect(events(r.stderr, 'keys.served')[0]?.source === source, `keys.served source ${source}`, r);

function machine(): string {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
  return `${model}, ${cpus().length} cores, Linux ${release()}, Node ${process.version}`;
}

const calls = (c: Record<string, number>) =>
  Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || '0';

let cleanup: () => Promise<void> = async () => {};

/** Waits for p, but not longer than ms (a helper whose process already died may never settle). */
async function bounded(p: Promise<unknown>, ms = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
let interrupted = false;

async function main(): Promise<void> {
  const bin = requireBinary();
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const dir = mkdtempSync(join(tmpdir(), 'iam-ssh-bench-'));
  const motoStart = Moto.start();
  const proxyStart = motoStart.then((m) => IamProxy.start(m.url));
  let done = false;
  cleanup = async () => {
    if (done) return;
    done = true;
    await bounded(proxyStart.then((p) => p.stop()));
    await bounded(motoStart.then((m) => m.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const moto = await motoStart;
  const proxy = await proxyStart;
  const [a, b, c] = [await makeClientKey(dir, 'a'), await makeClientKey(dir, 'b'), await makeClientKey(dir, 'c')];
  await moto.seed({
    groups: ['ssh-users'],
    users: [
      { name: 'Alice.Smith', groups: ['ssh-users'], keys: [{ body: a.publicLine }, { body: b.publicLine }, { body: c.publicLine, inactive: true }] },
      { name: 'Bob', groups: ['ssh-users'], keys: [{ body: c.publicLine }] },
    ],
  });
  const expected = `${a.publicLine}\n${b.publicLine}\n`;
  const fingerprint = (await run('ssh-keygen', ['-lf', `${a.path}.pub`])).stdout.split(' ')[1]!;

  // Like sshd's AuthorizedKeysCommand environment, plus credentials for the standard AWS chain.
  const env = { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };
  const cacheDir = join(dir, 'cache');
  const config = (name: string, stateDir: string) => {
    const file = join(dir, name);
    writeFileSync(file, [
      'IAM_AUTHORIZED_GROUPS="ssh-users"', `AWS_ENDPOINT_URL="${proxy.url}"`, `STATE_DIR="${stateDir}"`,
      `CACHE_DIR="${cacheDir}"`, 'KEYS_CACHE_TTL="1h"', 'KEYS_MAX_STALE="24h"', '',
    ].join('\n'));
    return file;
  };
  const plain = config('plain.conf', join(dir, 'no-state'));
  const synced = config('synced.conf', join(dir, 'state'));
  const keys = (cfg: string, user: string, fp?: string) => ['--config', cfg, 'keys', user, ...(fp ? [fp] : [])];
  const entryFile = join(cacheDir, 'keys', 'alice.smith.json');
  const emptyCache = () => rmSync(cacheDir, { recursive: true, force: true });

  // The member list `sync` records, in the scope `keys` computes from the config.
  const state: SyncState = {
    version: 1, writtenAt: new Date().toISOString(), scope: authScope(['ssh-users'], proxy.url),
    users: [{ iamName: 'Alice.Smith', localName: 'alice.smith', uid: 200001, iamUserId: 'AIDAEXAMPLE1' }],
  };
  mkdirSync(join(dir, 'state'));
  writeFileSync(statePath(join(dir, 'state')), JSON.stringify(state));

  const authKeys = join(dir, 'authorized_keys');
  writeFileSync(authKeys, expected);
  const rows: [string, Stats][] = [];
  const row = async (label: string, cmd: string, args: string[], opts: MeasureOpts = {}) => {
    process.stderr.write(`bench: ${label}\n`);
    rows.push([label, await measure(cmd, args, { env, ...opts })]);
  };

  await row('floor: `node -e 0`', process.execPath, ['-e', '0']);
  await row('floor: `cat` authorized_keys (2 keys)', 'cat', [authKeys], { check: (r) => expect(r.stdout === expected, 'cat output', r) });
  await row('`iam-ssh --version` (yargs)', bin, ['--version'], { check: (r) => expect(r.stdout.trim() === version, 'version', r) });
  emptyCache();
  await run(bin, keys(plain, 'alice.smith'), { env });
  await row('`keys alice.smith`: cache hit', bin, keys(plain, 'alice.smith'), {
    check: (r) => (expect(r.stdout === expected, 'hit output', r), servedFrom('hit')(r)),
  });
  await row('`keys alice.smith`: cache miss (no sync state)', bin, keys(plain, 'alice.smith'), {
    before: emptyCache, check: (r) => (expect(r.stdout === expected, 'miss output', r), servedFrom('miss')(r)),
  });
  await row('`keys alice.smith`: cache miss (sync state)', bin, keys(synced, 'alice.smith'), {
    before: emptyCache, check: (r) => (expect(r.stdout === expected, 'miss output', r), servedFrom('miss')(r)),
  });
  proxy.rules = [{ action: 'ListSSHPublicKeys', fault: 'throttle' }, { action: 'GetGroup', fault: 'throttle' }];
  const age = () => {
    const entry = JSON.parse(readFileSync(entryFile, 'utf8')) as { fetchedAt: number };
    entry.fetchedAt = Date.now() - 2 * 3_600_000;
    writeFileSync(entryFile, JSON.stringify(entry));
  };
  await row('`keys alice.smith`: stale on IAM Throttling', bin, keys(plain, 'alice.smith'), {
    before: age, check: (r) => (expect(r.stdout === expected, 'stale output', r), servedFrom('stale')(r)),
  });
  proxy.rules = [];
  const before = proxy.total();
  await row('`keys mallory`: refused by sync state', bin, keys(synced, 'mallory'), {
    check: (r) => expect(r.stdout === '' && /recorded by sync/.test(String(events(r.stderr, 'keys.refused')[0]?.reason)), 'refusal', r),
  });
  const refusalCalls = proxy.total() - before;
  await row('floor: `node -e 0` again, last (drift check)', process.execPath, ['-e', '0']);
  expect(refusalCalls === 0, `refusal made ${refusalCalls} IAM calls`);

  // IAM calls of one login: sshd runs the command once to query the key, once to verify it.
  const login = async (cfg: string, prepare: () => void) => {
    prepare();
    const out: Record<string, number>[] = [];
    for (const fp of [undefined, fingerprint]) {
      proxy.resetCounts();
      const r = await run(bin, keys(cfg, 'alice.smith', fp), { env });
      expect(r.stdout.includes(a.publicLine), 'login keys', r);
      out.push({ ...proxy.counts });
    }
    return out;
  };
  const logins: [string, Record<string, number>[]][] = [
    ['empty cache, no sync state', await login(plain, emptyCache)],
    ['empty cache, sync state', await login(synced, emptyCache)],
    ['warm cache', await login(plain, () => {})],
  ];

  const node = rows[0]![1].median;
  const f = (x: number) => x.toFixed(1);
  const out = [
    `## iam-ssh keys benchmark`, '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${machine()}`,
    `- method: each row spawns the process ${RUNS} times after ${WARMUPS} warm-ups, sequentially, wall time from spawn to exit; peak RSS is the median of ${RSS_RUNS} further runs under \`${GNU_TIME} -f %M\``,
    '', '| case | median ms | p90 ms | min ms | median / `node -e 0` | peak RSS MiB |', '|---|---:|---:|---:|---:|---:|',
    ...rows.map(([label, s]) => `| ${label} | ${f(s.median)} | ${f(s.p90)} | ${f(s.min)} | ${(s.median / node).toFixed(2)} | ${s.rssKb === null ? 'n/a' : f(s.rssKb / 1024)} |`),
    '', `Refusal by the sync state: ${refusalCalls} IAM calls over ${WARMUPS + RUNS + (existsSync(GNU_TIME) ? RSS_RUNS : 0)} runs.`,
    '', '| one login (`keys alice.smith`, then `keys alice.smith <fingerprint>`) | 1st call | 2nd call |', '|---|---|---|',
    ...logins.map(([label, [first, second]]) => `| ${label} | ${calls(first!)} | ${calls(second!)} |`),
  ];
  const hit = rows.find(([label]) => label.includes('cache hit'))![1].median;
  const ratio = hit / node;
  out.push('', `Done criterion (cache hit within 1.3x of \`node -e 0\`): ${ratio <= 1.3 ? 'yes' : 'no'}, ${f(hit)} ms vs ${f(node)} ms = ${ratio.toFixed(2)}x.`);
  if (!existsSync(GNU_TIME)) out.push('', `Peak RSS: n/a (${GNU_TIME}, GNU time, is not installed).`);
  console.log(out.join('\n'));
}

process.once('SIGINT', () => {
  interrupted = true;
  void cleanup().finally(() => process.exit(130));
});
main().then(
  () => cleanup(),
  async (e: unknown) => {
    if (interrupted) return;
    console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    await cleanup();
    process.exitCode = 1;
  },
);
