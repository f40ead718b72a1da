/**
 * The Lambda handler as the build ships it (dist/lambda/index.js, built here by
 * scripts/build-lambda.mjs), invoked in-process with EventBridge events against the emulator's
 * IAM, S3 and KMS, every call counted at a proxy: one publish per accepted event, a snapshot
 * that verifies against the KMS key's public key, and bad events or settings refused with
 * nothing written.
 */
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { join } from 'node:path';
import { S3Client, CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { KMSClient, CreateKeyCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { IAMClient, RemoveUserFromGroupCommand, AddUserToGroupCommand } from '@aws-sdk/client-iam';
import { Moto, TEST_CREDENTIALS } from '../helpers/moto';
import { AwsCountingProxy } from '../helpers/aws-counting-proxy';
import { verifyManifestObject, verifyBody } from '../../src/snapshot/verify';
import { parseTrustRoot } from '../../src/snapshot/signature';
import { decodeSignedManifest } from '../../src/snapshot/format';
import type { PublishInvocationResult, handleEvent } from '../../src/publish/lambda';

const ROOT = join(__dirname, '..', '..');
const BUCKET = 'fleet-access';
const KEY = 'iam-ssh/access.json';
const URL_ = `s3://${BUCKET}/${KEY}`;

/** An OpenSSH ed25519 public key line, made here. */
function ed25519Line(): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')}`;
}
const KEY_LINE = ed25519Line();
const KEY_LINE_2 = ed25519Line();

const scheduled = {
  version: '0', id: 'a1', 'detail-type': 'Scheduled Event', source: 'aws.events', account: '123456789012',
  time: '2026-11-30T03:00:00Z', region: 'us-east-1', resources: ['arn:aws:events:us-east-1:123456789012:rule/iam-ssh-schedule'], detail: {},
};
/** An access change made now, or `agoMs` before. */
const iamCall = (eventName: string, userName: string, agoMs = 0) => ({
  version: '0', id: 'b2', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.iam', account: '123456789012',
  time: new Date(Date.now() - agoMs).toISOString(), region: 'us-east-1', resources: [],
  detail: { eventSource: 'iam.amazonaws.com', eventName, awsRegion: 'us-east-1', requestParameters: { userName, groupName: 'ssh-users' } },
});

let moto: Moto;
let proxy: AwsCountingProxy;
let s3: S3Client;
let kms: KMSClient;
let iam: IAMClient;
let keyArn: string;
let lambda: { handler: (e: unknown) => Promise<PublishInvocationResult>; handleEvent: typeof handleEvent };
let env: Record<string, string>;
const saved: Record<string, string | undefined> = {};
const stderrWrite = process.stderr.write.bind(process.stderr);
let logLines: string[] = [];

async function manifestObject(): Promise<{ text: string; etag: string }> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }));
  return { text: await res.Body!.transformToString(), etag: res.ETag! };
}

async function verifiedSnapshot() {
  const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyArn }));
  const pem = createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
  const { text } = await manifestObject();
  // Checked twice: by the instances' verifier, and by node:crypto directly on the signed bytes.
  const { manifestBytes, signature } = decodeSignedManifest(text);
  expect(verify('sha256', manifestBytes, { key: createPublicKey(pem), dsaEncoding: 'der' }, signature)).toBe(true);
  const manifest = verifyManifestObject(Buffer.from(text), parseTrustRoot(pem), URL_);
  const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: manifest.object }));
  return { manifest, snapshot: verifyBody(Buffer.from(await body.Body!.transformToByteArray()), manifest) };
}

async function objectCount(): Promise<number> {
  return (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount ?? 0;
}

beforeAll(async () => {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-lambda.mjs')], { encoding: 'utf8', timeout: 120_000 });
  if (built.status !== 0) throw new Error(`build-lambda failed: ${built.stderr}`);
  lambda = require(join(ROOT, 'dist/lambda/index.js'));
  moto = await Moto.start();
  proxy = await AwsCountingProxy.start(moto.url);
  const ids = await moto.seed({
    groups: ['ssh-users', 'admins'],
    users: [
      { name: 'alice', groups: ['ssh-users', 'admins'], keys: [{ body: KEY_LINE }] },
      { name: 'bob', groups: ['ssh-users'], keys: [{ body: KEY_LINE_2 }] },
    ],
  });
  expect(ids.alice).toHaveLength(1);
  const client = { region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS };
  s3 = new S3Client({ ...client, forcePathStyle: true });
  kms = new KMSClient(client);
  iam = moto.iam();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  keyArn = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.Arn!;
  // The function's environment: the settings the template sets, and what the runtime sets.
  env = {
    SNAPSHOT_URL: URL_, SNAPSHOT_KMS_KEY: keyArn, IAM_AUTHORIZED_GROUPS: 'ssh-users', SUDOERS_GROUPS: 'admins', GROUP_MAP: '', NOTIFY_GROUPS: '', MAX_REMOVALS: '10',
    AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: 'iam-ssh-publisher', LAMBDA_TASK_ROOT: '/var/task', _HANDLER: 'index.handler',
  };
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
}, 120_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  s3?.destroy();
  kms?.destroy();
  iam?.destroy();
  await proxy?.stop();
  await moto?.stop();
});

beforeEach(() => {
  proxy.resetCounts();
  logLines = [];
  // The handler logs JSON lines on stderr, as CloudWatch receives them: kept for the assertions.
  process.stderr.write = ((chunk: string | Uint8Array) => (logLines.push(String(chunk)), true)) as typeof process.stderr.write;
});
afterEach(() => {
  process.stderr.write = stderrWrite;
});

const events = () => logLines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });

test('the deployment zip holds exactly the bundle the tests run, and the build is reproducible', () => {
  const zip = readFileSync(join(ROOT, 'dist/lambda/iam-ssh-publisher.zip'));
  expect(zip.readUInt32LE(0)).toBe(0x04034b50);
  const nameLength = zip.readUInt16LE(26);
  expect(zip.subarray(30, 30 + nameLength).toString()).toBe('index.js');
  const data = zip.subarray(30 + nameLength + zip.readUInt16LE(28), 30 + nameLength + zip.readUInt16LE(28) + zip.readUInt32LE(18));
  expect(inflateRawSync(data).equals(readFileSync(join(ROOT, 'dist/lambda/index.js')))).toBe(true);
  // One entry: the central directory's count, in the end record (the last 22 bytes).
  expect(zip.readUInt16LE(zip.length - 22 + 10)).toBe(1);
  const again = spawnSync(process.execPath, [join(ROOT, 'scripts/build-lambda.mjs')], { encoding: 'utf8', timeout: 120_000 });
  expect(again.status).toBe(0);
  expect(readFileSync(join(ROOT, 'dist/lambda/iam-ssh-publisher.zip')).equals(zip)).toBe(true);
});

test('a scheduled event publishes one snapshot that verifies against the KMS key', async () => {
  const r = await lambda.handler(scheduled);
  expect(r).toMatchObject({ status: 'published', changed: true, users: 2, trigger: { kind: 'schedule' } });
  const { manifest, snapshot } = await verifiedSnapshot();
  expect(manifest.serial).toBe(r.serial);
  expect(manifest.url).toBe(URL_);
  expect(snapshot.users.map((u) => [u.name, u.keys.map((k) => k.key)])).toEqual([['alice', [KEY_LINE]], ['bob', [KEY_LINE_2]]]);
  expect(snapshot.scope.authorizedGroups).toEqual(['ssh-users']);
  expect(snapshot.scope.groups).toEqual(['admins', 'ssh-users']);
  expect(snapshot.users.find((u) => u.name === 'alice')!.groups).toEqual(['admins', 'ssh-users']);
  // One publish: one body and one manifest written, one signature.
  expect(proxy.of('s3').PutObject).toBe(2);
  expect(proxy.of('kms').Sign).toBe(1);
  expect(proxy.of('iam').GetGroup).toBe(2);
  expect(await objectCount()).toBe(2);
  expect(events().map((e) => e.event)).toEqual(expect.arrayContaining(['publish.triggered', 'publish.done']));
});

test('an IAM change from CloudTrail publishes the change with a higher serial; a repeat changes nothing', async () => {
  const before = (await verifiedSnapshot()).manifest.serial;
  await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'bob' }));
  const r = await lambda.handler(iamCall('RemoveUserFromGroup', 'bob'));
  expect(r).toMatchObject({ status: 'published', changed: true, users: 1, trigger: { kind: 'iam-change', eventName: 'RemoveUserFromGroup', userName: 'bob' } });
  const { manifest, snapshot } = await verifiedSnapshot();
  expect(manifest.serial).toBeGreaterThan(before);
  expect(snapshot.users.map((u) => u.name)).toEqual(['alice']);
  // Known key bodies are reused: no GetSSHPublicKey for alice's key again.
  expect(proxy.of('iam').GetSSHPublicKey ?? 0).toBe(0);

  proxy.resetCounts();
  const objects = await objectCount();
  const again = await lambda.handler(iamCall('RemoveUserFromGroup', 'bob'));
  expect(again).toMatchObject({ status: 'unchanged', changed: false, serial: manifest.serial });
  expect(proxy.of('s3').PutObject ?? 0).toBe(0);
  expect(proxy.of('kms').Sign ?? 0).toBe(0);
  expect(await objectCount()).toBe(objects);
  await iam.send(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'bob' }));
});

test('a change the last read already saw is not read again: no AWS call; a later one is', async () => {
  await lambda.handler(scheduled);
  proxy.resetCounts();
  logLines = [];
  const old = await lambda.handler(iamCall('AddUserToGroup', 'bob', 5 * 60_000));
  expect(old).toMatchObject({ status: 'covered', changed: false, trigger: { kind: 'iam-change', eventName: 'AddUserToGroup' } });
  expect(proxy.total()).toBe(0);
  expect(events().map((e) => e.event)).toEqual(['publish.covered']);
  const fresh = await lambda.handler(iamCall('AddUserToGroup', 'bob'));
  expect(fresh.status).toBe('unchanged');
  expect(proxy.of('iam').GetGroup).toBe(2);
});

test.each([
  ['a console test event', { key1: 'value1' }],
  ['an S3 notification', { Records: [{ eventSource: 'aws:s3' }] }],
  ['an IAM call that grants nothing', iamCall('CreateUser', 'mallory')],
  ['a CloudTrail event of another service', { ...iamCall('AddUserToGroup', 'mallory'), source: 'aws.s3' }],
  ['null', null],
])('%s is refused: the invocation fails, no AWS call, nothing written', async (_what, event) => {
  const before = await manifestObject();
  proxy.resetCounts();
  await expect(lambda.handler(event)).rejects.toThrow(/event refused/);
  expect(proxy.total()).toBe(0);
  expect((await manifestObject()).etag).toBe(before.etag);
  expect(events().map((e) => e.event)).toEqual(['publish.event_refused']);
});

test.each([
  ['no signing key', { SNAPSHOT_KMS_KEY: '' }, /SNAPSHOT_URL and SNAPSHOT_KMS_KEY/],
  ['a bad value', { MAX_REMOVALS: 'many' }, /MAX_REMOVALS/],
  ['a misspelt key', { IAM_AUTHORISED_GROUPS: 'ssh-users' }, /did you mean IAM_AUTHORIZED_GROUPS/],
  ['a snapshot URL that is not s3://', { SNAPSHOT_URL: 'https://example.com/access.json' }, /SNAPSHOT_URL/],
])('%s in the environment is refused before any AWS call', async (_what, change, message) => {
  proxy.resetCounts();
  await expect(lambda.handleEvent(scheduled, { ...env, ...change })).rejects.toThrow(message);
  expect(proxy.total()).toBe(0);
});

test('a publish past MAX_REMOVALS is refused: the invocation fails and the last snapshot stays', async () => {
  await lambda.handler(scheduled);
  const before = await manifestObject();
  await iam.send(new RemoveUserFromGroupCommand({ GroupName: 'ssh-users', UserName: 'bob' }));
  try {
    await expect(lambda.handleEvent(iamCall('RemoveUserFromGroup', 'bob'), { ...env, MAX_REMOVALS: '0' })).rejects.toThrow(/publish refused/);
    expect((await manifestObject()).etag).toBe(before.etag);
    expect((await verifiedSnapshot()).snapshot.users.map((u) => u.name)).toEqual(['alice', 'bob']);
  } finally {
    await iam.send(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'bob' }));
  }
});

test('an IAM read that fails publishes nothing: the invocation fails', async () => {
  const before = await manifestObject();
  await expect(lambda.handleEvent(scheduled, { ...env, IAM_AUTHORIZED_GROUPS: 'ssh-users,no-such-group' })).rejects.toThrow(/publish failed: IAM read/);
  expect((await manifestObject()).etag).toBe(before.etag);
});
