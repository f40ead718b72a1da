/**
 * `sync` with SNAPSHOT_URL, driving the built executable in a private mount namespace against
 * moto's IAM, S3 and KMS: no IAM call, the plan of a direct read, a 304 that changes nothing,
 * the keys cache filled for `keys`, and each attack on the bucket refused with nothing changed.
 * The tests run in order: each publishes, attacks or syncs, and checks the host.
 */
import { AddUserToGroupCommand, CreateUserCommand, RemoveUserFromGroupCommand, UploadSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { rootSuite } from '../helpers/namespace';
import { events } from '../helpers/run';
import { prepareCommandUser } from '../helpers/sshd';
import { createBucket, createSigningKey, getObject, putObject, type SigningKey } from '../helpers/snapshot';
import { generateSshKey } from '../helpers/ssh-wire';
import { defaults, type Config } from '../../src/config/config';
import { createPublishDeps, publishSnapshot, type PublishOutcome } from '../../src/publish/publish';
import type { Logger } from '../../src/util/log';

// Generous: the suite runs many processes and a busy CI machine slows each one.
jest.setTimeout(300_000);
const BUCKET = 'fleet-access';
const KEY = 'prod/access.json';
const URL = `s3://${BUCKET}/${KEY}`;
const PEM = '/etc/iam-ssh/snapshot.pem';
const quiet: Logger = { log: () => {} };

rootSuite('sync from the signed access snapshot', () => {
  let env: SyncEnv;
  let signing: SigningKey;
  let publisher: Config;
  let settings: Record<string, string>;
  const alice = generateSshKey('ed25519');

  const iam = async (cmd: unknown) => {
    const c = env.moto.iam();
    await c.send(cmd as never);
    c.destroy();
  };
  const addUser = async (name: string) => {
    await iam(new CreateUserCommand({ UserName: name }));
    await iam(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: name }));
    await iam(new UploadSSHPublicKeyCommand({ UserName: name, SSHPublicKeyBody: generateSshKey('ed25519').line }));
  };
  const publish = async (extra: Partial<Config> = {}, force = false): Promise<PublishOutcome> => {
    const c = { ...publisher, ...extra };
    const o = await publishSnapshot(c, await createPublishDeps(c, quiet, { force }));
    if (o.status !== 'published') throw new Error(`publish: ${o.status} ${o.reason}`);
    return o;
  };
  /** What a sync may change: accounts, groups, the member list, the keys cache (snapshot.json records each fetch). */
  const host = async () => (await env.ns.must('sh', ['-c', 'getent passwd; getent group; cat /var/lib/iam-ssh/users.json; ls -l /var/cache/iam-ssh/keys'])).stdout;
  const expectRefused = async (reason: RegExp) => {
    const before = await host();
    env.proxy.resetCounts();
    const r = await env.sync();
    expect(r.code).toBe(1);
    expect(events(r.stderr, 'sync.snapshot_refused')[0]).toMatchObject({ url: URL, reason: expect.stringMatching(reason), fallback: 'none' });
    expect(events(r.stderr, 'sync.change')).toEqual([]);
    expect(await host()).toBe(before);
    expect(Object.keys(env.proxy.counts).filter((a) => !a.startsWith('S3.'))).toEqual([]);
  };

  beforeAll(async () => {
    env = await SyncEnv.start();
    await createBucket(env.moto.url, BUCKET);
    signing = await createSigningKey(env.moto.url);
    await env.moto.seed({
      groups: ['ssh-users', 'ssh-admins'],
      users: [
        { name: 'Alice.Smith', groups: ['ssh-users', 'ssh-admins'], keys: [{ body: alice.line }] },
        { name: 'bob', groups: ['ssh-users'], keys: [{ body: generateSshKey('ecdsa-p256').line }] },
      ],
    });
    process.env.AWS_ACCESS_KEY_ID = AWS_ENV.AWS_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = AWS_ENV.AWS_SECRET_ACCESS_KEY;
    publisher = { ...defaults(), awsEndpointUrl: env.proxy.url, authorizedGroups: ['ssh-users'], sudoersGroups: ['ssh-admins'], snapshotUrl: URL, snapshotKmsKey: signing.arn };
    await prepareCommandUser(env.ns);
    await env.ns.must('mkdir', ['-p', '/etc/iam-ssh']);
    await env.ns.writeFile(PEM, signing.pem, '0644');
    settings = { IAM_AUTHORIZED_GROUPS: 'ssh-users', SUDOERS_GROUPS: 'ssh-admins', SNAPSHOT_URL: URL, SNAPSHOT_PUBLIC_KEY: PEM };
    await env.config(settings);
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  test('the dry-run plan from the snapshot is the plan of a direct IAM read, with no IAM call', async () => {
    await env.config({ IAM_AUTHORIZED_GROUPS: 'ssh-users', SUDOERS_GROUPS: 'ssh-admins' });
    const direct = await env.sync('--dry-run', '--json');
    expect(direct.code).toBe(0);
    const o = await publish();
    await env.config(settings);
    env.proxy.resetCounts();
    const fromSnapshot = await env.sync('--dry-run', '--json');
    expect(fromSnapshot.code).toBe(0);
    expect(JSON.parse(fromSnapshot.stdout)).toEqual(JSON.parse(direct.stdout));
    expect(env.proxy.counts).toEqual({ 'S3.GET': 2 });
    expect(events(fromSnapshot.stderr, 'sync.snapshot_accepted')[0]).toMatchObject({ serial: o.serial, users: 2 });
  });

  test('sync applies it: accounts, sudo, the keys cache filled, sync.done says source snapshot and its serial', async () => {
    env.proxy.resetCounts();
    const r = await env.sync();
    expect(r.code).toBe(0);
    const done = events(r.stderr, 'sync.done')[0]!;
    expect(done).toMatchObject({ source: 'snapshot', complete: true, calls: { s3: { GetObject: 2 } } });
    expect(done.calls).not.toHaveProperty('iam');
    expect(env.proxy.counts).toEqual({ 'S3.GET': 2 });
    expect(await env.passwd('alice.smith')).not.toBeNull();
    expect(await env.groupsOf('alice.smith')).toContain('iam-ssh-sudo');
    expect(await env.groupsOf('bob')).not.toContain('iam-ssh-sudo');
    expect(done.keys).toMatchObject({ mode: 'prefetch', written: 2, failed: 0 });
    // A login: a cache hit from the snapshot, no AWS call at all.
    env.proxy.resetCounts();
    const login = await env.ns.exec('setpriv', ['--reuid=iam-ssh', '--regid=iam-ssh', '--clear-groups', BIN_IN_NS, 'keys', 'alice.smith'], { env: AWS_ENV });
    expect(login.stdout).toBe(`${alice.line}\n`);
    expect(events(login.stderr, 'keys.served')[0]).toMatchObject({ source: 'snapshot', serial: done.serial, calls: {} });
    expect(env.proxy.total()).toBe(0);
  });

  test('the next run is a 304: no change, one GET', async () => {
    const before = await host();
    env.proxy.resetCounts();
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(events(r.stderr, 'sync.done')[0]).toMatchObject({ source: 'snapshot', notModified: true, changes: 0 });
    expect(env.proxy.counts).toEqual({ 'S3.GET': 1 });
    expect(await host()).toBe(before);
  });

  test('a user with no cache entry is refused by keys without any IAM call', async () => {
    env.proxy.resetCounts();
    const login = await env.ns.exec('setpriv', ['--reuid=iam-ssh', '--regid=iam-ssh', '--clear-groups', BIN_IN_NS, 'keys', 'mallory'], { env: AWS_ENV });
    expect(login.stdout).toBe('');
    expect(env.proxy.total()).toBe(0);
  });

  test('attack: the body changed after signing', async () => {
    await addUser('carol');
    const o = await publish();
    const body = JSON.parse((await getObject(env.moto.url, BUCKET, o.object!)).toString('utf8'));
    body.users.push({ name: 'mallory', id: 'AIDAMALLORY000000000', groups: ['ssh-admins', 'ssh-users'], keys: [] });
    await putObject(env.moto.url, BUCKET, o.object!, JSON.stringify(body));
    await expectRefused(/bytes, the manifest signs/);
    expect(await env.passwd('carol')).toBeNull();
  });

  test('attack: the same body with the same size but other bytes', async () => {
    const o = await publish({}, true);
    const text = (await getObject(env.moto.url, BUCKET, o.object!)).toString('utf8');
    const changed = text.replace('"name":"bob"', '"name":"bxb"');
    expect(changed.length).toBe(text.length);
    await putObject(env.moto.url, BUCKET, o.object!, changed);
    await expectRefused(/SHA-256/);
  });

  test('attack: a truncated body', async () => {
    const o = await publish({}, true);
    const text = await getObject(env.moto.url, BUCKET, o.object!);
    await putObject(env.moto.url, BUCKET, o.object!, text.subarray(0, Math.floor(text.length / 2)));
    await expectRefused(/bytes, the manifest signs/);
  });

  test('attack: an object at SNAPSHOT_URL that is not JSON', async () => {
    await publish({}, true);
    await putObject(env.moto.url, BUCKET, KEY, '<html>Access Denied</html>');
    await expectRefused(/not a JSON object/);
  });

  let older: Buffer;
  test('a good snapshot is applied after the refusals', async () => {
    await publish({}, true);
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(await env.passwd('carol')).not.toBeNull();
    expect(await env.passwd('mallory')).toBeNull();
    older = await getObject(env.moto.url, BUCKET, KEY);
  });

  test('attack: a valid older snapshot put back (rollback)', async () => {
    await addUser('dave');
    await publish();
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(await env.passwd('dave')).not.toBeNull();
    await putObject(env.moto.url, BUCKET, KEY, older);
    await expectRefused(/older than .*rollback or replay/);
    expect(await env.passwd('dave')).not.toBeNull();
  });

  test('attack: a snapshot signed by another KMS key', async () => {
    const other = await createSigningKey(env.moto.url);
    await addUser('erin');
    await publish({ snapshotKmsKey: other.arn }, true);
    await expectRefused(/signature does not verify/);
    expect(await env.passwd('erin')).toBeNull();
  });

  test('attack: a manifest published for another URL (its object elsewhere)', async () => {
    await publish({ snapshotUrl: `s3://${BUCKET}/staging/access.json` }, true);
    await putObject(env.moto.url, BUCKET, KEY, await getObject(env.moto.url, BUCKET, 'staging/access.json'));
    await expectRefused(/published for s3:\/\/fleet-access\/staging\/access.json/);
    expect(await env.passwd('erin')).toBeNull();
  });

  test('a snapshot older than SNAPSHOT_MAX_AGE is not applied, also on a 304; SNAPSHOT_FALLBACK=iam reads IAM', async () => {
    await publish({}, true);
    expect((await env.sync()).code).toBe(0);
    expect(await env.passwd('erin')).not.toBeNull();
    // The host's clock moves on two hours: the snapshot held (the manifest answers 304) is stale.
    await env.config({ ...settings, SNAPSHOT_MAX_AGE: '1m' });
    await env.ns.must('sh', ['-c', 'sed -i "s/\\"generatedAt\\":\\"[^\\"]*\\"/\\"generatedAt\\":\\"2020-01-01T00:00:00.000Z\\"/" /var/lib/iam-ssh/snapshot.json']);
    await expectRefused(/more than SNAPSHOT_MAX_AGE/);
    await env.config({ ...settings, SNAPSHOT_MAX_AGE: '1m', SNAPSHOT_FALLBACK: 'iam' });
    env.proxy.resetCounts();
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(events(r.stderr, 'sync.snapshot_refused')[0]).toMatchObject({ fallback: 'iam' });
    expect(env.proxy.counts.GetGroup).toBe(2);
    expect(events(r.stderr, 'sync.done')[0]).not.toHaveProperty('source');
  });

  test('KEYS_MODE=file: the key files are written from the snapshot, with no IAM call', async () => {
    await env.config({ ...settings, KEYS_MODE: 'file' });
    const extra = generateSshKey('ed25519');
    await iam(new UploadSSHPublicKeyCommand({ UserName: 'bob', SSHPublicKeyBody: extra.line }));
    await publish();
    env.proxy.resetCounts();
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(events(r.stderr, 'sync.done')[0]).toMatchObject({ source: 'snapshot', keys: { mode: 'file', failed: 0 } });
    expect(env.proxy.counts).toEqual({ 'S3.GET': 2 });
    const bob = (await env.ns.readFile('/etc/ssh/iam-ssh/authorized_keys/bob')).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(bob).toHaveLength(2);
    expect(bob).toContain(extra.line);
  });

  test('iam-ssh publish from the executable: exit 0, then 3 when MAX_REMOVALS refuses, writing nothing', async () => {
    const conf = [`AWS_ENDPOINT_URL="${env.proxy.url}"`, 'IAM_AUTHORIZED_GROUPS="ssh-users"', 'SUDOERS_GROUPS="ssh-admins"', `SNAPSHOT_URL="${URL}"`, `SNAPSHOT_KMS_KEY="${signing.arn}"`, 'MAX_REMOVALS="0"'].join('\n') + '\n';
    await env.ns.writeFile('/etc/iam-ssh-publisher.conf', conf, '0600');
    const ok = await env.ns.exec(BIN_IN_NS, ['publish', '--config', '/etc/iam-ssh-publisher.conf'], { env: AWS_ENV, timeoutMs: 60_000 });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^(published serial \d+|unchanged: serial \d+ stands) \(5 users\)/);
    await iam(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'dave' }));
    const before = await getObject(env.moto.url, BUCKET, KEY);
    const refused = await env.ns.exec(BIN_IN_NS, ['publish', '--config', '/etc/iam-ssh-publisher.conf'], { env: AWS_ENV, timeoutMs: 60_000 });
    expect(refused.code).toBe(3);
    expect(events(refused.stderr, 'publish.refused')[0]).toMatchObject({ removed: ['dave'] });
    expect(await getObject(env.moto.url, BUCKET, KEY)).toEqual(before);
  });
});
