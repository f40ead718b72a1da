/**
 * Settings from SSM Parameter Store (moto) and instance tags (a fake IMDSv2, which moto lacks),
 * through the built binary inside a private mount namespace. The tests run in order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSMClient, PutParameterCommand } from '@aws-sdk/client-ssm';
import { SyncEnv, BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { FakeImds } from '../helpers/fake-imds';
import { TEST_CREDENTIALS, freePort } from '../helpers/moto';
import { rootSuite } from '../helpers/namespace';
import { events } from '../helpers/run';
import { makeClientKey } from '../helpers/sshd';
import { readInstanceTags, TagsNotEnabledError } from '../../src/platform/imds';

const PATH = '/iam-ssh/test/';
const STATE = '/var/lib/iam-ssh/remote-config.json';

describe('instance metadata tags (IMDSv2)', () => {
  let imds: FakeImds;
  beforeAll(async () => (imds = await FakeImds.start()));
  afterAll(async () => imds?.stop());

  test('reads tags with a session token; an absent tag is null', async () => {
    imds.tags = { SshGroups: 'ops,devs', 'iam:sudo': 'admins' };
    expect(await readInstanceTags(imds.url, ['SshGroups', 'iam:sudo', 'Missing'])).toEqual({ SshGroups: 'ops,devs', 'iam:sudo': 'admins', Missing: null });
    expect(imds.requests[0]).toBe('PUT /latest/api/token 200');
    // The service refuses a GET without the token, as the real one does with IMDSv1 disabled.
    expect((await fetch(`${imds.url}/latest/meta-data/tags/instance`)).status).toBe(401);
  });

  test('tags not enabled is a clear error naming the fix', async () => {
    imds.tagsEnabled = false;
    const err = await readInstanceTags(imds.url, ['SshGroups']).catch((e: unknown) => e);
    imds.tagsEnabled = true;
    expect(err).toBeInstanceOf(TagsNotEnabledError);
    expect((err as Error).message).toMatch(/instance metadata tags are not enabled: aws ec2 modify-instance-metadata-options .*--instance-metadata-tags enabled/);
  });

  test('an unreachable service is an error, not an empty answer', async () => {
    await expect(readInstanceTags(`http://127.0.0.1:${await freePort()}`, ['SshGroups'])).rejects.toThrow(/ECONNREFUSED/);
  });
});


rootSuite('sync and keys with SSM and tag layers', () => {
  let env: SyncEnv;
  let imds: FakeImds;
  let keyDir: string;
  let ssm: SSMClient;
  const put = (key: string, value: string) => ssm.send(new PutParameterCommand({ Name: `${PATH}${key}`, Value: value, Type: 'String', Overwrite: true }));
  const dryRunPlan = async () => {
    const r = await env.sync('--dry-run', '--json');
    const actions = r.code === null || r.stdout === '' ? [] : (JSON.parse(r.stdout).actions as { kind: string; user?: string }[]);
    return { r, actions: actions.filter((a) => a.user).map((a) => `${a.kind} ${a.user}`).sort() };
  };
  const keys = (user: string) => env.ns.exec(BIN_IN_NS, ['keys', user], { env: AWS_ENV });

  beforeAll(async () => {
    env = await SyncEnv.start();
    imds = await FakeImds.start();
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-remote-'));
    const key = await makeClientKey(keyDir, 'k');
    await env.moto.seed({
      groups: ['file-group', 'ssm-group', 'tag-group'],
      users: [
        { name: 'Alice', groups: ['file-group'], keys: [{ body: key.publicLine }] },
        { name: 'Bob', groups: ['ssm-group'], keys: [{ body: key.publicLine }] },
        { name: 'Carol', groups: ['tag-group'], keys: [{ body: key.publicLine }] },
      ],
    });
    ssm = new SSMClient({ region: 'us-east-1', endpoint: env.moto.url, credentials: TEST_CREDENTIALS });
    // Eleven parameters before the one that matters: it is only on the second page.
    await put('STATE_DIR', '/tmp/elsewhere');
    for (let i = 0; i < 10; i++) await put(`NOTE_${i}`, 'x');
    await put('IAM_AUTHORIZED_GROUPS', 'ssm-group');
    await env.config({ IAM_AUTHORIZED_GROUPS: 'file-group', SSM_CONFIG_PATH: PATH });
  });
  afterAll(async () => {
    ssm?.destroy();
    await imds?.stop();
    await env?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('SSM overrides the file, read across pages; a local-only key from SSM is ignored; a dry run keeps nothing', async () => {
    env.proxy.resetCounts();
    const { r, actions } = await dryRunPlan();
    expect(r.code).toBe(0);
    expect(actions).toEqual(['create-user bob']);
    expect(env.proxy.counts.GetParametersByPath).toBe(2);
    const warnings = events(r.stderr, 'config.warning').map((w) => w.message);
    expect(warnings).toContain(`ssm:${PATH}STATE_DIR: STATE_DIR can only be set in the local config file; ignored`);
    expect((await env.ns.exec('test', ['-e', STATE])).code).not.toBe(0);
  });

  test('a sync keeps the SSM result as the last good one, root-owned and readable', async () => {
    const r = await env.sync();
    expect(r.code).toBe(0);
    expect(await env.passwd('bob')).not.toBeNull();
    expect(await env.passwd('alice')).toBeNull();
    expect((await env.ns.must('stat', ['-c', '%U %a', STATE])).stdout.trim()).toBe('root 644');
  });

  test('keys uses the last good SSM layer from disk and never calls SSM', async () => {
    env.proxy.resetCounts();
    const bob = await keys('bob');
    expect(bob.stdout).toMatch(/^ssh-ed25519 /);
    const alice = await keys('alice');
    expect(alice.stdout).toBe('');
    expect(events(alice.stderr, 'keys.refused')).toHaveLength(1);
    expect(env.proxy.counts.GetParametersByPath).toBeUndefined();
  });

  test('SSM unreachable: the last good result is used with a warning', async () => {
    await put('IAM_AUTHORIZED_GROUPS', 'file-group');
    env.proxy.rules = [{ action: 'GetParametersByPath', fault: 'error500' }];
    const { r, actions } = await dryRunPlan();
    expect(r.code).toBe(0);
    expect(actions).toEqual([]); // still ssm-group: nobody created, nobody removed
    expect(events(r.stderr, 'config.remote_stale')[0]).toMatchObject({ level: 'warn', source: `ssm:${PATH}` });
  });

  test('SSM unreachable and no last good result: the run fails and changes nothing', async () => {
    await env.ns.must('rm', [STATE]);
    const r = await env.sync();
    env.proxy.rules = [];
    expect(r.code).toBe(1);
    expect(String(events(r.stderr, 'config.remote_failed')[0]?.error)).toMatch(/cannot read SSM parameters under \/iam-ssh\/test\/, and no earlier result is on disk/);
    expect(events(r.stderr, 'sync.change')).toHaveLength(0);
    expect(await env.passwd('bob')).not.toBeNull();
    // The login path refuses too rather than fall back to the file's groups.
    const alice = await keys('alice');
    expect(alice.stdout).toBe('');
    expect(String(events(alice.stderr, 'keys.failed_closed')[0]?.error)).toMatch(/no settings read from SSM on disk yet/);
  });

  test('an instance tag overrides SSM', async () => {
    await put('IAM_AUTHORIZED_GROUPS', 'ssm-group');
    imds.tags = { SshGroups: 'tag-group' };
    await env.config({ IAM_AUTHORIZED_GROUPS: 'file-group', SSM_CONFIG_PATH: PATH, IAM_AUTHORIZED_GROUPS_TAG: 'SshGroups', IMDS_ENDPOINT: imds.url });
    const { r, actions } = await dryRunPlan();
    expect(r.code).toBe(0);
    expect(actions).toEqual(['create-user carol', 'remove-user bob']);
    expect(imds.requests).toContain('GET /latest/meta-data/tags/instance/SshGroups 200');
  });

  test('tags not enabled fails the run with the fix in the message', async () => {
    imds.tagsEnabled = false;
    const r = await env.sync();
    imds.tagsEnabled = true;
    expect(r.code).toBe(1);
    expect(String(events(r.stderr, 'config.remote_failed')[0]?.error)).toMatch(/modify-instance-metadata-options/);
    expect(events(r.stderr, 'sync.change')).toHaveLength(0);
  });

  test('with tags enabled the sync applies the tag groups, and keys follows without calling IMDS', async () => {
    expect((await env.sync()).code).toBe(0);
    expect(await env.passwd('carol')).not.toBeNull();
    const before = imds.requests.length;
    expect((await keys('carol')).stdout).toMatch(/^ssh-ed25519 /);
    expect((await keys('bob')).stdout).toBe('');
    expect(imds.requests.length).toBe(before);
  });
});
