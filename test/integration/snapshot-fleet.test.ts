/**
 * A fleet of 50 instances on one snapshot: one publish, then 50 `sync` processes at once, each
 * with its own mount namespace (its own /etc, STATE_DIR and CACHE_DIR), against moto's IAM, S3
 * and KMS behind the counting proxy. The instances make no IAM call; a new snapshot costs each
 * one manifest GET and one body GET; the next round is one 304 each; every plan is the plan
 * of a direct IAM read.
 */
import { SyncEnv, AWS_ENV } from '../helpers/sync-env';
import { MountNamespace, rootSuite } from '../helpers/namespace';
import { events, requireBinary, type RunResult } from '../helpers/run';
import { createBucket, createSigningKey } from '../helpers/snapshot';
import { generateSshKey } from '../helpers/ssh-wire';
import { prepareCommandUser } from '../helpers/sshd';
import { defaults } from '../../src/config/config';
import { createPublishDeps, publishSnapshot } from '../../src/publish/publish';

const INSTANCES = 50;
const BUCKET = 'fleet-access';
const URL = `s3://${BUCKET}/prod/access.json`;
const PEM = '/etc/iam-ssh-snapshot.pem';
const USERS = ['alice', 'bob', 'carol', 'dave'];

rootSuite(`a fleet of ${INSTANCES} instances syncing from one snapshot`, () => {
  let env: SyncEnv;
  const fleet: MountNamespace[] = [];
  let bin: string;
  let settings: Record<string, string>;

  const syncAll = (...args: string[]): Promise<RunResult[]> =>
    Promise.all(fleet.map((ns) => ns.exec(bin, ['sync', '--wait', '0', ...args], { env: AWS_ENV, timeoutMs: 900_000 })));
  const sgets = () => env.proxy.counts['S3.GET'] ?? 0;
  const iamCalls = () => Object.entries(env.proxy.counts).filter(([a]) => !a.startsWith('S3.')).reduce((n, [, c]) => n + c, 0);

  beforeAll(async () => {
    bin = requireBinary();
    env = await SyncEnv.start();
    await createBucket(env.moto.url, BUCKET);
    const signing = await createSigningKey(env.moto.url);
    await env.moto.seed({
      groups: ['ssh-users', 'ssh-admins'],
      users: USERS.map((name, i) => ({ name, groups: i === 0 ? ['ssh-users', 'ssh-admins'] : ['ssh-users'], keys: [{ body: generateSshKey('ed25519').line }] })),
    });
    settings = { AWS_ENDPOINT_URL: env.proxy.url, IAM_AUTHORIZED_GROUPS: 'ssh-users', SUDOERS_GROUPS: 'ssh-admins' };
    process.env.AWS_ACCESS_KEY_ID = AWS_ENV.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = AWS_ENV.AWS_SECRET_ACCESS_KEY;
    const publisher = { ...defaults(), awsEndpointUrl: env.proxy.url, authorizedGroups: ['ssh-users'], sudoersGroups: ['ssh-admins'], snapshotUrl: URL, snapshotKmsKey: signing.arn };
    const o = await publishSnapshot(publisher, await createPublishDeps(publisher, { log: () => {} }));
    expect(o.status).toBe('published');
    const conf = Object.entries({ ...settings, SNAPSHOT_URL: URL, SNAPSHOT_PUBLIC_KEY: PEM }).map(([k, v]) => `${k}="${v}"`).join('\n') + '\n';
    for (let i = 0; i < INSTANCES; i++) {
      const ns = await MountNamespace.create();
      fleet.push(ns);
      await ns.writeFile(PEM, signing.pem, '0644');
      await ns.writeFile('/etc/iam-ssh.conf', conf);
      // As install leaves an instance: the command user owns CACHE_DIR, where sync writes the keys.
      await prepareCommandUser(ns);
    }
  }, 1_000_000);

  afterAll(async () => {
    for (const ns of fleet) await ns.stop();
    await env?.stop();
  }, 120_000);

  test('every plan from the snapshot is the direct read\'s; no IAM call; a manifest and a body GET each', async () => {
    await env.config(settings);
    const direct = await env.sync('--dry-run', '--json');
    expect(direct.code).toBe(0);
    const expected = JSON.parse(direct.stdout);
    expect(expected.actions.length).toBeGreaterThan(USERS.length);
    env.proxy.resetCounts();
    const runs = await syncAll('--dry-run', '--json');
    for (const r of runs) {
      expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-1500) }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(r.stdout)).toEqual(expected);
    }
    expect(iamCalls()).toBe(0);
    expect(sgets()).toBe(2 * INSTANCES);
  }, 1_000_000);

  test('all apply at once: the accounts of a direct sync, no IAM call', async () => {
    env.proxy.resetCounts();
    const t0 = Date.now();
    const runs = await syncAll();
    const ms = Date.now() - t0;
    for (const r of runs) {
      expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-1500) }).toEqual({ code: 0, stderr: '' });
      expect(events(r.stderr, 'sync.done')[0]).toMatchObject({ source: 'snapshot', complete: true, calls: { s3: { GetObject: 2 } } });
    }
    expect(iamCalls()).toBe(0);
    expect(sgets()).toBe(2 * INSTANCES);
    for (const ns of fleet) {
      const passwd = (await ns.must('getent', ['passwd', ...USERS])).stdout.trim().split('\n');
      expect(passwd.map((l) => l.split(':')[0])).toEqual(USERS);
      expect((await ns.must('id', ['-nG', 'alice'])).stdout).toContain('iam-ssh-sudo');
    }
    process.stdout.write(`${INSTANCES} instances applied the snapshot at once in ${ms} ms\n`);
  }, 1_000_000);

  test('the next round is one 304 each: no change, no body read, no IAM call', async () => {
    env.proxy.resetCounts();
    const runs = await syncAll();
    for (const r of runs) {
      expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr.slice(-1500) }).toEqual({ code: 0, stderr: '' });
      expect(events(r.stderr, 'sync.done')[0]).toMatchObject({ source: 'snapshot', notModified: true, changes: 0, calls: { s3: { GetObject: 1 } } });
      expect(events(r.stderr, 'sync.change')).toEqual([]);
    }
    expect(iamCalls()).toBe(0);
    expect(sgets()).toBe(INSTANCES);
  }, 1_000_000);
});
