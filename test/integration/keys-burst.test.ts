/**
 * A burst of logins: 200 concurrent `keys` processes of the real executable, run as the
 * unprivileged cache owner inside a mount namespace, against the emulator behind a counting
 * proxy that answers each call after a delay (so the processes really overlap). Whatever the
 * burst, IAM sees at most one round per user, and every process answers with exactly the
 * keys within its budget. Counts and budgets are asserted, not speed.
 */
import { MountNamespace, rootSuite } from '../helpers/namespace';
import { Moto, TEST_CREDENTIALS } from '../helpers/moto';
import { IamProxy } from '../helpers/iam-proxy';
import { events, requireBinary } from '../helpers/run';
import { burst, type BurstResult } from '../helpers/burst';
import { makeClientKey, prepareCommandUser, type ClientKey } from '../helpers/sshd';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/local/sbin/iam-ssh';
const PROCESSES = 200;
/**
 * KEYS_TIMEOUT for the burst. 200 processes that start at the same moment share the CPU, so on
 * a machine with 2 cores they all finish only after several seconds of CPU time in total, IAM or
 * not (a warm cache too): the budget is set to what the machine can do, and no process may exceed it.
 */
const BUDGET_MS = 30_000;
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/var/lib/iam-ssh-home', AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };

rootSuite('a burst of concurrent logins', () => {
  let moto: Moto;
  let proxy: IamProxy;
  let ns: MountNamespace;
  let keyDir: string;
  const keys: ClientKey[] = [];
  const expected: Record<string, string> = {};
  /** Active keys per local user, the GetSSHPublicKey calls of one round. */
  const active: Record<string, number> = {};

  beforeAll(async () => {
    moto = await Moto.start();
    proxy = await IamProxy.start(moto.url);
    ns = await MountNamespace.create();
    await ns.must('install', ['-o', 'root', '-g', 'root', '-m', '0755', requireBinary(), BIN]);
    await prepareCommandUser(ns);
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-burst-'));
    for (let i = 0; i < 6; i++) keys.push(await makeClientKey(keyDir, `k${i}`));
    const users = [
      { name: 'Alice.Smith', keys: [{ body: keys[0]!.publicLine }, { body: keys[1]!.publicLine }, { body: keys[2]!.publicLine, inactive: true }] },
      ...['Bob', 'Carol', 'Dave', 'Erin'].map((name, i) => ({ name, keys: [{ body: keys[i + 1]!.publicLine }] })),
    ];
    await moto.seed({ groups: ['ssh-users'], users: users.map((u) => ({ ...u, groups: ['ssh-users'] })) });
    for (const u of users) {
      const local = u.name.toLowerCase();
      const lines = u.keys.filter((k) => !('inactive' in k)).map((k) => k.body);
      expected[local] = lines.map((l) => l + '\n').join('');
      active[local] = lines.length;
    }
    await ns.writeFile('/etc/iam-ssh.conf', [
      `AWS_ENDPOINT_URL="${proxy.url}"`, 'IAM_AUTHORIZED_GROUPS="ssh-users"', 'KEYS_CACHE_TTL="10m"', `KEYS_TIMEOUT="${BUDGET_MS}ms"`, '',
    ].join('\n'), '0644');
    // keys answers only for the accounts sync made.
    await ns.must(BIN, ['sync'], { env: ENV });
    proxy.delayMs = 150;
  }, 120_000);

  afterAll(async () => {
    await ns?.stop();
    await proxy?.stop();
    await moto?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  const coldCache = () => ns.must('sh', ['-c', 'rm -rf /var/cache/iam-ssh/keys /var/cache/iam-ssh/members.json']);
  /** Logins as sshd makes them: each `keys` process as the AuthorizedKeysCommandUser, all at once. */
  const logins = (users: string[]): Promise<BurstResult[]> =>
    burst(ns, 'iam-ssh', Array.from({ length: PROCESSES }, (_, i) => [BIN, 'keys', users[i % users.length]!]), ENV);

  /** Every process: exit 0, exactly the user's keys, one keys.served line within the budget. */
  function expectAnswered(results: BurstResult[], users: string[]): void {
    const problems: string[] = [];
    results.forEach((r, i) => {
      const user = users[i % users.length]!;
      const served = events(r.stderr, 'keys.served');
      if (r.code !== 0 || r.stdout !== expected[user] || served.length !== 1 || !(Number(served[0]!.durationMs) < BUDGET_MS)) {
        problems.push(`#${i} ${user}: exit ${r.code}, ${r.stdout === expected[user] ? 'right keys' : `stdout ${JSON.stringify(r.stdout.slice(0, 80))}`}, ` +
          `after ${served[0]?.durationMs} ms, stderr ${r.stderr.slice(0, 300)}`);
      }
    });
    expect(problems).toEqual([]);
  }

  test(`${PROCESSES} processes for one valid user, cold cache: one IAM round between them`, async () => {
    await coldCache();
    proxy.resetCounts();
    const results = await logins(['alice.smith']);
    expectAnswered(results, ['alice.smith']);
    expect(proxy.counts).toEqual({ GetGroup: 1, ListSSHPublicKeys: 1, GetSSHPublicKey: active['alice.smith'] });
    const sources = results.map((r) => String(events(r.stderr, 'keys.served')[0]!.source));
    expect(sources.filter((s) => s === 'miss')).toHaveLength(1);
  }, 300_000);

  test(`${PROCESSES} processes spread over 5 users, cold cache: at most one round per user`, async () => {
    await coldCache();
    proxy.resetCounts();
    const users = Object.keys(expected);
    const results = await logins(users);
    expectAnswered(results, users);
    expect(proxy.counts.ListSSHPublicKeys).toBe(users.length);
    expect(proxy.counts.GetSSHPublicKey).toBe(users.reduce((n, u) => n + active[u]!, 0));
    // The member list: read by the first refresher of each user at most, then cached for the TTL.
    expect(proxy.counts.GetGroup).toBeGreaterThanOrEqual(1);
    expect(proxy.counts.GetGroup).toBeLessThanOrEqual(users.length);
  }, 300_000);

  test(`${PROCESSES} processes on a warm cache make no IAM call`, async () => {
    proxy.resetCounts();
    const results = await logins(['alice.smith']);
    expectAnswered(results, ['alice.smith']);
    expect(proxy.total()).toBe(0);
  }, 300_000);
});
