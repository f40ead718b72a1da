/**
 * deploy/iam-ssh-publisher.yaml deployed into the emulator's CloudFormation with the zip that
 * scripts/build-lambda.mjs builds: the stack completes, and the resources it made are checked
 * through each service's own API (bucket, key, role and its policy, the function and its
 * environment, both rules and their targets, the invoke permissions, the instances' policy).
 * The emulator cannot run the function (no Docker here): test/integration/publish-lambda.test.ts
 * invokes the same handler in-process. What the emulator ignores when it creates a resource
 * (bucket versioning and public access block, the bucket policy, the key's spec) is checked on
 * the template in test/unit/publish/iam-policies.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { S3Client, CreateBucketCommand, PutObjectCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { KMSClient, ListAliasesCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { GetRoleCommand, GetRolePolicyCommand, GetPolicyCommand, GetPolicyVersionCommand, type IAMClient } from '@aws-sdk/client-iam';
import { Moto, TEST_CREDENTIALS } from '../helpers/moto';
import { readPublisherTemplate } from '../helpers/cfn-template';
import { accessEventPattern } from '../../src/publish/lambda-event';
import { configFromEnvironment } from '../../src/publish/lambda-config';

const ROOT = join(__dirname, '..', '..');
const ZIP = join(ROOT, 'dist/lambda/iam-ssh-publisher.zip');
const STACK = 'iam-ssh';
const CODE_BUCKET = 'iam-ssh-artifacts';
const CODE_KEY = 'lambda/iam-ssh-publisher-0.1.0.zip';

let moto: Moto;
let cfn: CloudFormationClient;
let s3: S3Client;
let kms: KMSClient;
let iam: IAMClient;
let outputs: Record<string, string>;
let resources: Record<string, string>;

interface Statement { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown }
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]).sort();

/** A JSON-protocol or REST call of a service the project has no SDK client for (EventBridge, Lambda). */
async function call(service: string, init: { target?: string; path?: string; method?: string; body?: unknown }): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = {
    authorization: `AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/20261130/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
  };
  if (init.target) Object.assign(headers, { 'x-amz-target': init.target, 'content-type': 'application/x-amz-json-1.1' });
  const res = await fetch(`${moto.url}${init.path ?? '/'}`, { method: init.method ?? 'POST', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service} ${init.target ?? init.path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

beforeAll(async () => {
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts/build-lambda.mjs')], { encoding: 'utf8', timeout: 120_000 });
  if (built.status !== 0) throw new Error(`build-lambda failed: ${built.stderr}`);
  moto = await Moto.start();
  const client = { region: 'us-east-1', endpoint: moto.url, credentials: TEST_CREDENTIALS };
  cfn = new CloudFormationClient(client);
  s3 = new S3Client({ ...client, forcePathStyle: true });
  kms = new KMSClient(client);
  iam = moto.iam();
  await s3.send(new CreateBucketCommand({ Bucket: CODE_BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: CODE_BUCKET, Key: CODE_KEY, Body: readFileSync(ZIP) }));
  await cfn.send(new CreateStackCommand({
    StackName: STACK,
    TemplateBody: readPublisherTemplate().text,
    Capabilities: ['CAPABILITY_IAM'],
    Parameters: [
      { ParameterKey: 'AuthorizedGroups', ParameterValue: 'ssh-users,admins' },
      { ParameterKey: 'SudoersGroups', ParameterValue: 'admins' },
      { ParameterKey: 'CodeBucket', ParameterValue: CODE_BUCKET },
      { ParameterKey: 'CodeKey', ParameterValue: CODE_KEY },
    ],
  }));
  const until = Date.now() + 60_000;
  let status: string | undefined;
  for (;;) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!;
    status = stack.StackStatus ?? '';
    if (!status.endsWith('_IN_PROGRESS')) {
      outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey!, o.OutputValue!]));
      break;
    }
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(status).toBe('CREATE_COMPLETE');
  const listed = await cfn.send(new ListStackResourcesCommand({ StackName: STACK }));
  resources = Object.fromEntries((listed.StackResourceSummaries ?? []).map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));
}, 180_000);

afterAll(async () => {
  cfn?.destroy();
  s3?.destroy();
  kms?.destroy();
  iam?.destroy();
  await moto?.stop();
});

test('the stack made every resource of the template', () => {
  const { template } = readPublisherTemplate();
  // The bucket policy is the one type the emulator does not create (checked on the template).
  const expected = Object.keys(template.Resources).filter((k) => template.Resources[k]!.Type !== 'AWS::S3::BucketPolicy').sort();
  expect(Object.keys(resources).sort()).toEqual(expect.arrayContaining(expected));
  expect(Object.keys(outputs).sort()).toEqual(['BucketName', 'InstanceReadPolicyArn', 'PublisherFunctionName', 'PublisherRoleArn', 'SigningKeyAlias', 'SigningKeyArn', 'SnapshotUrl']);
});

test('the bucket exists and SNAPSHOT_URL points into it', async () => {
  await s3.send(new HeadBucketCommand({ Bucket: outputs.BucketName }));
  expect(outputs.SnapshotUrl).toBe(`s3://${outputs.BucketName}/iam-ssh/access.json`);
});

test('the signing key: named by the alias; only the publisher role may sign', async () => {
  // The emulator's DescribeKey fails on a key CloudFormation made (it keeps the key policy as an
  // object), and it creates such a key as SYMMETRIC_DEFAULT whatever KeySpec says: the key is
  // found by listing, its policy read raw, its spec checked on the template (unit test).
  const keys = (await kms.send(new ListKeysCommand({}))).Keys ?? [];
  const key = keys.find((k) => k.KeyArn === outputs.SigningKeyArn);
  expect(key).toBeDefined();
  const aliases = (await kms.send(new ListAliasesCommand({ KeyId: key!.KeyId }))).Aliases ?? [];
  expect(aliases.map((a) => a.AliasName)).toContain(`alias/${STACK}-snapshot`);
  const raw = (await call('kms', { target: 'TrentService.GetKeyPolicy', body: { KeyId: key!.KeyId, PolicyName: 'default' } })).Policy;
  const policy = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Statement: Statement[] };
  const signers = policy.Statement.filter((s) => actions(s).includes('kms:Sign'));
  expect(signers).toEqual([expect.objectContaining({ Principal: { AWS: outputs.PublisherRoleArn }, Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'RAW' } } })]);
  expect(policy.Statement.filter((s) => s.Effect === 'Allow' && actions(s).includes('kms:*')).map((s) => s.Principal)).toEqual([{ AWS: 'arn:aws:iam::123456789012:root' }]);
});

test('the publisher role: assumed by Lambda only; its policy bound to this bucket\'s objects and this key', async () => {
  const roleName = outputs.PublisherRoleArn!.split('/').pop()!;
  const role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role!;
  const trust = JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument!)) as { Statement: Statement[] };
  expect(trust.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
  const doc = (await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: 'iam-ssh-publisher' }))).PolicyDocument!;
  const statements = (JSON.parse(decodeURIComponent(doc)) as { Statement: Statement[] }).Statement;
  const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
  const bucketArn = `arn:aws:s3:::${outputs.BucketName}`;
  expect(bySid.WriteTheSnapshot).toMatchObject({ Action: 's3:PutObject', Resource: [`${bucketArn}/iam-ssh/access.json`, `${bucketArn}/iam-ssh/access.json.d/*`] });
  expect(bySid.ReadTheLastSnapshot!.Resource).toEqual(bySid.WriteTheSnapshot!.Resource);
  expect(bySid.TellAMissingSnapshotFromADeniedRead).toMatchObject({ Action: 's3:ListBucket', Resource: bucketArn });
  expect(bySid.SignTheManifest).toMatchObject({ Action: 'kms:Sign', Resource: outputs.SigningKeyArn });
  expect(bySid.VerifyTheLastSnapshot).toMatchObject({ Action: 'kms:GetPublicKey', Resource: outputs.SigningKeyArn });
  expect(actions(bySid.ReadGroupsAndSshPublicKeys!)).toEqual(['iam:GetGroup', 'iam:GetSSHPublicKey', 'iam:ListSSHPublicKeys']);
  expect(actions(bySid.WriteItsOwnLog!)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  expect(JSON.stringify(bySid.WriteItsOwnLog!.Resource)).toContain(`log-group:/aws/lambda/${STACK}-publisher`);
});

test('the function: the build\'s zip, Node 20, one at a time, and an environment that is a valid publisher config', async () => {
  const fn = await call('lambda', { method: 'GET', path: `/2015-03-31/functions/${outputs.PublisherFunctionName}` });
  const conf = fn.Configuration as Record<string, unknown>;
  expect(conf).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Role: outputs.PublisherRoleArn, Timeout: 300 });
  expect(conf.CodeSha256).toBe(createHash('sha256').update(readFileSync(ZIP)).digest('base64'));
  expect(fn.Concurrency).toEqual({ ReservedConcurrentExecutions: 1 });
  // Lambda's variables are strings; the emulator keeps a Number parameter's Ref as a number.
  const vars = Object.fromEntries(Object.entries((conf.Environment as { Variables: Record<string, unknown> }).Variables).map(([k, v]) => [k, String(v)]));
  expect(vars).toMatchObject({ SNAPSHOT_URL: outputs.SnapshotUrl, SNAPSHOT_KMS_KEY: outputs.SigningKeyArn, IAM_AUTHORIZED_GROUPS: 'ssh-users,admins', SUDOERS_GROUPS: 'admins', MAX_REMOVALS: '10', SNAPSHOT_MAX_AGE: '1h' });
  // What the handler will build from it, with the runtime's own variables beside.
  const { config } = configFromEnvironment({ ...vars, AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: String(conf.FunctionName) });
  expect(config).toMatchObject({ snapshotUrl: outputs.SnapshotUrl, snapshotKmsKey: outputs.SigningKeyArn, authorizedGroups: ['ssh-users', 'admins'], sudoersGroups: ['admins'], groupMap: {}, notifyGroups: [], maxRemovals: 10, snapshotMaxAgeMs: 3_600_000 });
  const policy = JSON.parse(String((await call('lambda', { method: 'GET', path: `/2015-03-31/functions/${outputs.PublisherFunctionName}/policy` })).Policy)) as { Statement: Statement[] };
  const ruleArns = policy.Statement.map((s) => (s.Condition as { ArnLike?: Record<string, string> } | undefined)?.ArnLike?.['AWS:SourceArn']).sort();
  expect(policy.Statement.every((s) => JSON.stringify(s.Principal).includes('events.amazonaws.com'))).toBe(true);
  expect(ruleArns).toEqual([resources.AccessChangeRule, resources.ScheduleRule].map((r) => expect.stringContaining(r!.split('/').pop()!)).sort());
});

test('the rules: a schedule, and the IAM calls that change access; both invoke the function', async () => {
  const describe = (name: string) => call('events', { target: 'AWSEvents.DescribeRule', body: { Name: name } });
  const targets = async (name: string) => ((await call('events', { target: 'AWSEvents.ListTargetsByRule', body: { Rule: name } })).Targets as { Arn: string }[]).map((t) => t.Arn);
  const scheduleName = resources.ScheduleRule!.split('/').pop()!;
  const changeName = resources.AccessChangeRule!.split('/').pop()!;
  expect(await describe(scheduleName)).toMatchObject({ ScheduleExpression: 'rate(10 minutes)', State: 'ENABLED' });
  const change = await describe(changeName);
  expect(change.State).toBe('ENABLED');
  expect(JSON.parse(String(change.EventPattern))).toEqual(accessEventPattern());
  const fnArn = `arn:aws:lambda:us-east-1:123456789012:function:${outputs.PublisherFunctionName}`;
  expect(await targets(scheduleName)).toEqual([fnArn]);
  expect(await targets(changeName)).toEqual([fnArn]);
});

test('the instances\' managed policy: this bucket\'s snapshot objects and this key\'s public key, no IAM', async () => {
  const p = (await iam.send(new GetPolicyCommand({ PolicyArn: outputs.InstanceReadPolicyArn }))).Policy!;
  const v = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: outputs.InstanceReadPolicyArn, VersionId: p.DefaultVersionId }))).PolicyVersion!;
  const statements = (JSON.parse(decodeURIComponent(v.Document!)) as { Statement: Statement[] }).Statement;
  const bucketArn = `arn:aws:s3:::${outputs.BucketName}`;
  expect(statements).toEqual([
    { Sid: 'ReadTheSnapshot', Effect: 'Allow', Action: 's3:GetObject', Resource: [`${bucketArn}/iam-ssh/access.json`, `${bucketArn}/iam-ssh/access.json.d/*`] },
    { Sid: 'FetchThePublicKeyWhenNotPinned', Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: outputs.SigningKeyArn },
  ]);
});
