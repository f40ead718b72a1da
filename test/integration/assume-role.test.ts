/**
 * ASSUMEROLE against moto, which keeps accounts apart: IAM users and groups live in account
 * 111111111111 (reached only through the role), SSM in the instance's own account. The proxy
 * records which access key signed each call. The tests run in order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STSClient, AssumeRoleCommand } from '@aws-sdk/client-sts';
import { IAMClient, CreateGroupCommand, CreateUserCommand, AddUserToGroupCommand, UploadSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import { SSMClient, PutParameterCommand } from '@aws-sdk/client-ssm';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { TEST_CREDENTIALS } from '../helpers/moto';
import { rootSuite } from '../helpers/namespace';
import { makeClientKey } from '../helpers/sshd';

const ROLE = 'arn:aws:iam::111111111111:role/iam-ssh-reader';
const PATH = '/iam-ssh/cross/';

rootSuite('ASSUMEROLE: IAM of another account with cached temporary credentials', () => {
  let env: SyncEnv;
  let keyDir: string;
  let assumedKeyId = '';
  const base = TEST_CREDENTIALS.accessKeyId;
  const signers = (action: string) => [...new Set(env.proxy.signed.filter((c) => c.action === action).map((c) => c.accessKeyId))];
  const plannedUsers = async () => {
    const r = await env.sync('--dry-run', '--json');
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout).actions as { kind: string; user: string }[]).filter((a) => a.kind === 'create-user').map((a) => a.user);
  };

  beforeAll(async () => {
    env = await SyncEnv.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-role-'));
    const key = await makeClientKey(keyDir, 'k');
    // The other account: seeded with credentials of the role, so everything lands there.
    const sts = new STSClient({ region: 'us-east-1', endpoint: env.moto.url, credentials: TEST_CREDENTIALS });
    const c = (await sts.send(new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'seed' }))).Credentials!;
    sts.destroy();
    const other = new IAMClient({ region: 'us-east-1', endpoint: env.moto.url, credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! } });
    await other.send(new CreateGroupCommand({ GroupName: 'ssh-users' }));
    await other.send(new CreateUserCommand({ UserName: 'Dana' }));
    await other.send(new AddUserToGroupCommand({ GroupName: 'ssh-users', UserName: 'Dana' }));
    await other.send(new UploadSSHPublicKeyCommand({ UserName: 'Dana', SSHPublicKeyBody: key.publicLine }));
    other.destroy();
    // The instance's own account has a group of the same name with someone else in it.
    await env.moto.seed({ groups: ['ssh-users'], users: [{ name: 'Eve', groups: ['ssh-users'] }] });
    const ssm = new SSMClient({ region: 'us-east-1', endpoint: env.moto.url, credentials: TEST_CREDENTIALS });
    await ssm.send(new PutParameterCommand({ Name: `${PATH}IAM_AUTHORIZED_GROUPS`, Value: 'ssh-users', Type: 'String' }));
    ssm.destroy();
    await env.config({ ASSUMEROLE: ROLE, SSM_CONFIG_PATH: PATH });
  });
  afterAll(async () => {
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('IAM is read with the role, SSM and STS with the instance credentials', async () => {
    env.proxy.resetCounts();
    expect(await plannedUsers()).toEqual(['dana']);
    expect(env.proxy.counts.AssumeRole).toBe(1);
    expect(signers('AssumeRole')).toEqual([base]);
    expect(signers('GetParametersByPath')).toEqual([base]);
    const iamSigners = signers('GetGroup');
    expect(iamSigners).toHaveLength(1);
    expect(iamSigners[0]).toMatch(/^ASIA/);
    assumedKeyId = iamSigners[0]!;
    expect((await env.ns.must('stat', ['-c', '%U %a', '/var/lib/iam-ssh/role-credentials.json'])).stdout.trim()).toBe('root 600');
  });

  test('a second run reuses the cached credentials: no AssumeRole', async () => {
    env.proxy.resetCounts();
    expect(await plannedUsers()).toEqual(['dana']);
    expect(env.proxy.counts.AssumeRole).toBeUndefined();
    expect(signers('GetGroup')).toEqual([assumedKeyId]);
  });

  test('a cache file that others can read is not trusted', async () => {
    await env.ns.must('chmod', ['0644', '/var/lib/iam-ssh/role-credentials.json']);
    env.proxy.resetCounts();
    expect(await plannedUsers()).toEqual(['dana']);
    expect(env.proxy.counts.AssumeRole).toBe(1);
    expect((await env.ns.must('stat', ['-c', '%a', '/var/lib/iam-ssh/role-credentials.json'])).stdout.trim()).toBe('600');
  });

  test('keys reads the keys through the role and keeps its own credentials under CACHE_DIR', async () => {
    expect((await env.sync()).code).toBe(0);
    env.proxy.resetCounts();
    const r = await env.ns.exec(BIN_IN_NS, ['keys', 'dana'], { env: AWS_ENV });
    expect(r.stdout).toMatch(/^ssh-ed25519 /);
    expect(signers('ListSSHPublicKeys')[0]).toMatch(/^ASIA/);
    expect(signers('GetParametersByPath')).toEqual([]);
    expect((await env.ns.must('stat', ['-c', '%a', '/var/cache/iam-ssh/role-credentials.json'])).stdout.trim()).toBe('600');
  });
});
