/**
 * publishSnapshot against moto's IAM, S3 and KMS (in process, real SDK clients, through the
 * counting proxy): what it writes, that it signs RAW with the KMS key, its serials, and the
 * guards it shares with sync (an incomplete read, MAX_REMOVALS, a current snapshot that does
 * not verify) each writing nothing.
 */
import { RemoveUserFromGroupCommand } from '@aws-sdk/client-iam';
import { Moto } from '../helpers/moto';
import { IamProxy } from '../helpers/iam-proxy';
import { createBucket, createSigningKey, getObject, putObject, type SigningKey } from '../helpers/snapshot';
import { generateSshKey } from '../helpers/ssh-wire';
import { defaults, type Config } from '../../src/config/config';
import { createPublishDeps, publishSnapshot } from '../../src/publish/publish';
import { verifyBody, verifyManifestObject } from '../../src/snapshot/verify';
import { parseTrustRoot } from '../../src/snapshot/signature';
import type { Logger } from '../../src/util/log';

// Generous: the suite runs many processes and a busy CI machine slows each one.
jest.setTimeout(300_000);
const BUCKET = 'fleet-access';
const URL = `s3://${BUCKET}/prod/access.json`;
const lines: { event: string; fields: Record<string, unknown> }[] = [];
const log: Logger = { log: (_level, event, fields = {}) => void lines.push({ event, fields }) };

describe('publish: IAM once, a signed snapshot in S3', () => {
  let moto: Moto;
  let proxy: IamProxy;
  let key: SigningKey;
  let config: Config;
  let clock = Date.parse('2026-01-01T00:00:00Z');

  const publish = async (extra: Partial<Config> = {}, force = false) => {
    const c = { ...config, ...extra };
    const deps = await createPublishDeps(c, log, { force });
    return publishSnapshot(c, { ...deps, now: () => clock });
  };
  const current = async () => {
    const manifest = verifyManifestObject(await getObject(moto.url, BUCKET, 'prod/access.json'), parseTrustRoot(key.pem), URL);
    return { manifest, snapshot: verifyBody(await getObject(moto.url, BUCKET, manifest.object), manifest) };
  };

  beforeAll(async () => {
    moto = await Moto.start();
    proxy = await IamProxy.start(moto.url);
    await createBucket(moto.url, BUCKET);
    key = await createSigningKey(moto.url);
    await moto.seed({
      groups: ['ssh-users', 'ssh-admins'],
      users: [
        { name: 'alice', groups: ['ssh-users', 'ssh-admins'], keys: [{ body: generateSshKey('ed25519').line }, { body: generateSshKey('ed25519').line, inactive: true }] },
        { name: 'bob', groups: ['ssh-users'], keys: [{ body: generateSshKey('ecdsa-p256').line }] },
        { name: 'carol', groups: ['ssh-admins'], keys: [{ body: generateSshKey('ed25519').line }] },
      ],
    });
    config = {
      ...defaults(), awsEndpointUrl: proxy.url, authorizedGroups: ['ssh-users'], sudoersGroups: ['ssh-admins'],
      snapshotUrl: URL, snapshotKmsKey: key.arn, stateDir: '/nonexistent',
    };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDTESTTESTTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret';
  });
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });
  beforeEach(() => {
    proxy.resetCounts();
    proxy.rules = [];
    lines.length = 0;
  });

  test('the first publish writes the body, then the manifest signed RAW by the KMS key', async () => {
    const o = await publish();
    expect(o).toMatchObject({ status: 'published', changed: true, users: 2, serial: Math.floor(clock / 1000) });
    expect(o.calls.kms).toEqual({ Sign: 1 });
    expect(o.calls.iam).toEqual({ GetGroup: 2, ListSSHPublicKeys: 2, GetSSHPublicKey: 2 });
    expect(o.calls.s3).toEqual({ GetObject: 1, PutObject: 2 });
    const { manifest, snapshot } = await current();
    expect(manifest.serial).toBe(o.serial);
    expect(snapshot.users.map((u) => [u.name, u.groups, u.keys.length])).toEqual([['alice', ['ssh-admins', 'ssh-users'], 1], ['bob', ['ssh-users'], 1]]);
    expect(snapshot.scope).toEqual({ groups: ['ssh-admins', 'ssh-users'], allUsers: false, authorizedGroups: ['ssh-users'], account: '123456789012', role: null });
    expect(lines.find((l) => l.event === 'publish.done')?.fields).toMatchObject({ serial: o.serial, users: 2 });
  });

  test('an unchanged read writes nothing and reuses every key body (no GetSSHPublicKey)', async () => {
    clock += 60_000;
    const before = (await current()).manifest.serial;
    const o = await publish();
    expect(o).toMatchObject({ status: 'unchanged', changed: false, serial: before });
    expect(o.calls.iam).toEqual({ GetGroup: 2, ListSSHPublicKeys: 2 });
    expect(o.calls.s3).toEqual({ GetObject: 2 });
    expect(o.calls.kms).toEqual({ GetPublicKey: 1 });
  });

  test('past half of SNAPSHOT_MAX_AGE an unchanged snapshot is published again with a higher serial', async () => {
    const before = (await current()).manifest.serial;
    clock += config.snapshotMaxAgeMs;
    const o = await publish();
    expect(o).toMatchObject({ status: 'published', reason: 'refresh' });
    expect(o.serial!).toBeGreaterThan(before);
  });

  test('a failed group read publishes nothing and keeps the last snapshot', async () => {
    const before = await current();
    clock += config.snapshotMaxAgeMs;
    proxy.rules = [{ action: 'GetGroup', fault: 'throttle' }];
    const o = await publish();
    expect(o.status).toBe('failed');
    expect(o.reason).toMatch(/IAM read incomplete/);
    expect(o.calls.s3?.PutObject).toBeUndefined();
    expect((await current()).manifest).toEqual(before.manifest);
  });

  test('an answer lacking its Users element publishes nothing', async () => {
    clock += config.snapshotMaxAgeMs;
    proxy.rules = [{ action: 'GetGroup', fault: 'drop-element', element: 'Users' }];
    const o = await publish();
    expect(o.status).toBe('failed');
    expect(o.calls.s3?.PutObject).toBeUndefined();
  });

  test('removing more users than MAX_REMOVALS is refused unless forced', async () => {
    const iam = moto.iam();
    await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'bob' }));
    iam.destroy();
    const before = (await current()).manifest;
    const refused = await publish({ maxRemovals: 0 });
    expect(refused).toMatchObject({ status: 'refused', removed: ['bob'] });
    expect(refused.calls.s3?.PutObject).toBeUndefined();
    expect((await current()).manifest).toEqual(before);
    const forced = await publish({ maxRemovals: 0 }, true);
    expect(forced).toMatchObject({ status: 'published', removed: ['bob'] });
    expect((await current()).snapshot.users.map((u) => u.name)).toEqual(['alice']);
  });

  test('a current manifest that does not verify is not built upon, unless forced', async () => {
    const good = await getObject(moto.url, BUCKET, 'prod/access.json');
    const doc = JSON.parse(good.toString('utf8'));
    doc.signature = Buffer.from(doc.signature, 'base64').reverse().toString('base64');
    await putObject(moto.url, BUCKET, 'prod/access.json', JSON.stringify(doc));
    clock += 1000;
    const refused = await publish();
    expect(refused.status).toBe('refused');
    expect(refused.reason).toMatch(/does not verify/);
    const forced = await publish({}, true);
    expect(forced.status).toBe('published');
    expect(forced.serial!).toBeGreaterThan(doc.serial ?? 0);
    await current();
  });
});
