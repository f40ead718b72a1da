/**
 * Benchmark of `iam-ssh keys`, the command sshd runs at every login, next to process-start
 * floors measured in the same run with the same method. Not a test: it prints a Markdown
 * report on stdout. Run by `npm run bench`; after `npm run build`, also
 * `node scripts/run-ts.mjs scripts/bench.ts [RUNS]` (default 30 timed runs per row).
 *
 * The rows are measured in PASSES rounds of RUNS/PASSES runs each and the samples pooled, so
 * that a change in machine load during the run weighs on every row alike.
 */
import { spawnSync } from 'node:child_process';
import { GetUserCommand } from '@aws-sdk/client-iam';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Moto, TEST_CREDENTIALS } from '../test/helpers/moto';
import { IamProxy, type FaultRule } from '../test/helpers/iam-proxy';
import { ROOT, events, requireBinary, run, type RunResult } from '../test/helpers/run';
import { makeClientKey } from '../test/helpers/sshd';
import { authScope } from '../src/keys/cache-entry';
import { formatKeyFile } from '../src/keys/file-mode';
import { parsePublicKey } from '../src/util/ssh-key';
import { syncStatePath, type SyncState } from '../src/state/sync-state';

const RUNS = Number(process.argv[2] ?? 30);
/** The Node inside dist/iam-ssh (scripts/release/runtime.json): the floor is its own start. */
const PINNED = JSON.parse(readFileSync(join(ROOT, 'scripts/release/runtime.json'), 'utf8')) as { version: string };
const RUNTIME_NODE = join(ROOT, 'node_modules/.cache/iam-ssh-runtime', PINNED.version, process.arch, 'package/bin/node');
/** Optional: an executable built on another runtime (scripts/build.mjs --runtime-node), measured beside. */
const COMPARE = process.env.IAM_SSH_BENCH_COMPARE;
const PASSES = 3;
const WARMUPS = 3;
const RSS_RUNS = 5;
const PER_PASS = Math.ceil(RUNS / PASSES);
const GNU_TIME = '/usr/bin/time';

export interface MeasureOpts {
  env?: NodeJS.ProcessEnv;
  /** Runs before every spawn, outside the timed span. */
  before?: () => void;
  /** Throws when a run did not behave as the row claims. */
  check?: (r: RunResult) => void;
  warmups?: number;
  /** Extra runs under GNU time for the peak RSS (0 to skip). */
  rssRuns?: number;
}

export interface Samples {
  /** Wall times in ms, from spawn to exit. */
  ms: number[];
  /** Peak RSS in KiB of the runs under GNU time. */
  rssKb: number[];
}

export interface Stats { median: number; p90: number; min: number; rssKb: number | null }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = (s.length - 1) / 2;
  return (s[Math.floor(mid)]! + s[Math.ceil(mid)]!) / 2;
}

export function summarize({ ms, rssKb }: Samples): Stats {
  const s = [...ms].sort((a, b) => a - b);
  return { median: median(s), p90: s[Math.ceil(0.9 * s.length) - 1]!, min: s[0]!, rssKb: rssKb.length ? median(rssKb) : null };
}

/** Spawns `cmd args` n times after warm-ups, no shell, and returns the samples. */
export async function measure(cmd: string, args: string[], opts: MeasureOpts = {}, n = RUNS): Promise<Samples> {
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
  const rssKb: number[] = [];
  // GNU time appends the peak RSS (KiB) to the command's stderr, as its last line.
  const rssRuns = existsSync(GNU_TIME) ? opts.rssRuns ?? RSS_RUNS : 0;
  for (let i = 0; i < rssRuns; i++) rssKb.push(Number((await once(GNU_TIME, ['-f', '%M', cmd, ...args])).stderr.trim().split('\n').pop()));
  return { ms, rssKb };
}

function must(ok: boolean, what: string, r?: RunResult): void {
  if (!ok) throw new Error(`unexpected result: ${what}${r ? `\nstdout: ${r.stdout}\nstderr: ${r.stderr}` : ''}`);
}

const servedFrom = (source: string) => (r: RunResult) =>
  must(events(r.stderr, 'keys.served')[0]?.source === source, `keys.served source ${source}`, r);

function machine(): string {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown CPU';
  return `${model}, ${cpus().length} cores, Linux ${release()}, executable on Node ${PINNED.version} (bench driver on Node ${process.version})`;
}

const calls = (c: Record<string, number>) =>
  Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || '0';

let cleanup: () => Promise<void> = async () => {};
let interrupted = false;

/** Waits for p, but not longer than ms (a helper whose process already died may never settle). */
async function bounded(p: Promise<unknown>, ms = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/**
 * `keys` answers only for an account sync created, so the bench runs in a private mount
 * namespace (an overlay over /etc, a tmpfs over /home) where it creates one; the host's /etc is
 * not changed. Every process the bench times starts directly inside it, floors included.
 */
const NAMESPACE_SETUP = `
set -e
mount -t tmpfs -o mode=0700 iam-ssh-bench "$1"
mkdir "$1/upper" "$1/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/upper,workdir=$1/work" /etc
mount -t tmpfs -o mode=0755 home /home
shift
exec "$@"
`;

function runInPrivateNamespace(): number {
  const scratch = mkdtempSync(join(tmpdir(), 'iam-ssh-bench-ns-'));
  try {
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', NAMESPACE_SETUP, 'bench', scratch, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit', env: { ...process.env, IAM_SSH_BENCH_NAMESPACE: '1' },
    });
    return r.status ?? 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The local account, marker group and registry entries sync would have made for the IAM user. */
async function makeManagedAccount(moto: Moto, stateDirs: string[]): Promise<void> {
  const iam = moto.iam();
  const userId = (await iam.send(new GetUserCommand({ UserName: 'Alice.Smith' }))).User!.UserId!;
  iam.destroy();
  for (const [cmd, args] of [['groupadd', ['iam-synced-users']], ['useradd', ['--user-group', '--no-create-home', '--groups', 'iam-synced-users', 'alice.smith']]] as const) {
    const r = await run(cmd, [...args]);
    must(r.code === 0, cmd, r);
  }
  const uid = Number((await run('id', ['-u', 'alice.smith'])).stdout.trim());
  for (const d of stateDirs) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'registry.json'), JSON.stringify({ version: 1, users: { 'alice.smith': { iamName: 'Alice.Smith', iamUserId: userId, uid } } }), { mode: 0o644 });
  }
}

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
  // install makes CACHE_DIR for the command user (here: root, which runs keys); keys never does.
  const emptyCache = () => {
    rmSync(cacheDir, { recursive: true, force: true });
    mkdirSync(cacheDir, { mode: 0o700 });
  };

  // The member list `sync` records, in the scope `keys` computes from the config.
  const state: SyncState = {
    version: 1, writtenAt: new Date().toISOString(), scope: authScope({ authorizedGroups: ['ssh-users'], awsEndpointUrl: proxy.url, assumeRole: null }),
    users: [{ iamName: 'Alice.Smith', localName: 'alice.smith', uid: 200001, iamUserId: 'AIDAEXAMPLE1' }],
  };
  await makeManagedAccount(moto, [join(dir, 'state'), join(dir, 'no-state')]);
  writeFileSync(syncStatePath(join(dir, 'state')), JSON.stringify(state));

  // The file KEYS_MODE=file makes sync write for this user: what sshd reads instead of running keys.
  const authKeys = join(dir, 'alice.smith');
  const keyFile = formatKeyFile('Alice.Smith', [a, b].map((k, i) => {
    const parsed = parsePublicKey(k.publicLine);
    if (!parsed.ok) throw new Error(parsed.reason);
    return { id: `APKABENCH${i}`, line: parsed.key.line, fingerprint: parsed.key.fingerprint };
  }));
  writeFileSync(authKeys, keyFile);
  const age = () => {
    const entry = JSON.parse(readFileSync(entryFile, 'utf8')) as { fetchedAt: number };
    entry.fetchedAt = Date.now() - 2 * 3_600_000;
    writeFileSync(entryFile, JSON.stringify(entry));
  };
  const serves = (source: string) => (r: RunResult) => (must(r.stdout === expected, `${source} output`, r), servedFrom(source)(r));
  const throttle: FaultRule[] = [{ action: 'ListSSHPublicKeys', fault: 'throttle' }, { action: 'GetGroup', fault: 'throttle' }];
  // In this order each row leaves the cache as the next one needs it (the hit row: fresh).
  const rows: { label: string; cmd: string; args: string[]; opts?: MeasureOpts; rules?: FaultRule[] }[] = [
    { label: `floor: \`node -e 0\` (Node ${PINNED.version}, the runtime inside)`, cmd: RUNTIME_NODE, args: ['-e', '0'] },
    { label: 'floor: `cat` of the KEYS_MODE=file file (2 keys)', cmd: 'cat', args: [authKeys], opts: { check: (r) => must(r.stdout === keyFile, 'cat output', r) } },
    { label: '`iam-ssh --version`', cmd: bin, args: ['--version'], opts: { check: (r) => must(r.stdout.startsWith(`iam-ssh ${version} (`), 'version', r) } },
    { label: '`keys alice.smith`: cache hit', cmd: bin, args: keys(plain, 'alice.smith'), opts: { check: serves('hit') } },
    { label: '`keys alice.smith`: stale on IAM Throttling', cmd: bin, args: keys(plain, 'alice.smith'), opts: { before: age, check: serves('stale') }, rules: throttle },
    { label: '`keys alice.smith`: cache miss (no sync state)', cmd: bin, args: keys(plain, 'alice.smith'), opts: { before: emptyCache, check: serves('miss') } },
    { label: '`keys alice.smith`: cache miss (sync state)', cmd: bin, args: keys(synced, 'alice.smith'), opts: { before: emptyCache, check: serves('miss') } },
    {
      label: '`keys mallory`: refused by sync state', cmd: bin, args: keys(synced, 'mallory'),
      opts: { check: (r) => must(r.stdout === '' && /recorded by sync/.test(String(events(r.stderr, 'keys.refused')[0]?.reason)), 'refusal', r) },
    },
  ];
  if (COMPARE) {
    rows.push(
      { label: `other runtime: \`node -e 0\` (${process.version}, this driver's)`, cmd: process.execPath, args: ['-e', '0'] },
      { label: 'other runtime: `keys alice.smith`: cache hit', cmd: COMPARE, args: keys(plain, 'alice.smith'), opts: { check: serves('hit') } },
    );
  }
  const samples = rows.map((): Samples => ({ ms: [], rssKb: [] }));

  emptyCache();
  await run(bin, keys(plain, 'alice.smith'), { env });
  let refusalCalls = 0;
  let refusalRuns = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    for (const [i, row] of rows.entries()) {
      process.stderr.write(`bench: pass ${pass + 1}/${PASSES}: ${row.label}\n`);
      proxy.rules = row.rules ?? [];
      const before = proxy.total();
      const rssRuns = pass === 0 ? RSS_RUNS : 0;
      const s = await measure(row.cmd, row.args, { env, ...row.opts, rssRuns }, PER_PASS);
      if (row.label.includes('refused')) {
        refusalCalls += proxy.total() - before;
        refusalRuns += WARMUPS + s.ms.length + (existsSync(GNU_TIME) ? rssRuns : 0);
      }
      samples[i]!.ms.push(...s.ms);
      samples[i]!.rssKb.push(...s.rssKb);
    }
  }
  proxy.rules = [];
  must(refusalCalls === 0, `refusal made ${refusalCalls} IAM calls`);
  const stats = rows.map((r, i) => [r.label, summarize(samples[i]!)] as const);

  // IAM calls of one login: sshd runs the command once to query the key, once to verify it.
  const login = async (cfg: string, prepare: () => void) => {
    prepare();
    const out: Record<string, number>[] = [];
    for (const fp of [undefined, fingerprint]) {
      proxy.resetCounts();
      const r = await run(bin, keys(cfg, 'alice.smith', fp), { env });
      must(r.stdout.includes(a.publicLine), 'login keys', r);
      out.push({ ...proxy.counts });
    }
    return out;
  };
  const logins: [string, Record<string, number>[]][] = [
    ['empty cache, no sync state', await login(plain, emptyCache)],
    ['empty cache, sync state', await login(synced, emptyCache)],
    ['warm cache', await login(plain, () => {})],
  ];

  const node = stats[0]![1].median;
  const f = (x: number) => x.toFixed(1);
  const out = [
    `## iam-ssh keys benchmark`, '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${machine()}`,
    `- method: each row spawns the process ${PER_PASS * PASSES} times, one after the other, in ${PASSES} passes over all rows (${WARMUPS} warm-ups per row and pass); wall time from spawn to exit; peak RSS is the median of ${RSS_RUNS} further runs under \`${GNU_TIME} -f %M\``,
    '', '| case | median ms | p90 ms | min ms | median / `node -e 0` | peak RSS MiB |', '|---|---:|---:|---:|---:|---:|',
    ...stats.map(([label, s]) => `| ${label} | ${f(s.median)} | ${f(s.p90)} | ${f(s.min)} | ${(s.median / node).toFixed(2)} | ${s.rssKb === null ? 'n/a' : f(s.rssKb / 1024)} |`),
    '', `Refusal by the sync state: ${refusalCalls} IAM calls over ${refusalRuns} runs.`,
    '', '| one login (`keys alice.smith`, then `keys alice.smith <fingerprint>`) | 1st call | 2nd call |', '|---|---|---|',
    ...logins.map(([label, [first, second]]) => `| ${label} | ${calls(first!)} | ${calls(second!)} |`),
  ];
  const hit = stats.find(([label]) => label.includes('cache hit'))![1].median;
  const ratio = hit / node;
  out.push('', `Done criterion (cache hit within 1.3x of \`node -e 0\`): ${ratio <= 1.3 ? 'yes' : 'no'}, ${f(hit)} ms vs ${f(node)} ms = ${ratio.toFixed(2)}x.`);
  if (COMPARE) {
    const [oldNode, oldHit] = [stats.at(-2)![1].median, stats.at(-1)![1].median];
    out.push('', `Other runtime in the same run: cache hit ${f(oldHit)} ms vs its \`node -e 0\` ${f(oldNode)} ms = ${(oldHit / oldNode).toFixed(2)}x.`);
  }
  if (!existsSync(GNU_TIME)) out.push('', `Peak RSS: n/a (${GNU_TIME}, GNU time, is not installed).`);
  console.log(out.join('\n'));
}

process.once('SIGINT', () => {
  interrupted = true;
  void cleanup().finally(() => process.exit(130));
});
if (process.env.IAM_SSH_BENCH_NAMESPACE !== '1') process.exit(runInPrivateNamespace());
main().then(
  () => cleanup(),
  async (e: unknown) => {
    if (interrupted) return;
    console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    await cleanup();
    process.exitCode = 1;
  },
);
