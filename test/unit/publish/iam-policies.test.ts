/**
 * The least-privilege policies in docs/ and the publisher template: each file parses, each
 * statement is an Allow of exactly the documented actions, an instance in snapshot mode has
 * no IAM read, and the template grants its role what docs/iam-policy-publisher.json grants
 * (plus writing its own log), its instances what docs/iam-policy-instance-snapshot.json grants.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPublisherTemplate } from '../../helpers/cfn-template';
import { accessEventPattern } from '../../../src/publish/lambda-event';
import { isKnownKey } from '../../../src/config/config';
import { bodyKey, bodyPrefix } from '../../../src/snapshot/s3-url';

const DOCS = join(__dirname, '..', '..', '..', 'docs');

interface Statement { Sid: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown }
interface PolicyDocument { Version: string; Statement: Statement[] }

const readPolicy = (name: string): PolicyDocument => JSON.parse(readFileSync(join(DOCS, name), 'utf8')) as PolicyDocument;
const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const allActions = (p: PolicyDocument): string[] => [...new Set(p.Statement.flatMap(actionsOf))].sort();
const bySid = (p: PolicyDocument): Record<string, string[]> => Object.fromEntries(p.Statement.map((s) => [s.Sid, actionsOf(s).sort()]));

describe('docs/iam-policy*.json', () => {
  const files = readdirSync(DOCS).filter((f) => /^iam-policy.*\.json$/.test(f)).sort();

  test('the policies documented are these files', () => {
    expect(files).toEqual(['iam-policy-cross-account.json', 'iam-policy-instance-snapshot.json', 'iam-policy-publisher.json', 'iam-policy.json']);
    const md = readFileSync(join(DOCS, 'iam-policy.md'), 'utf8');
    for (const f of files) expect(md).toContain(`(${f})`);
  });

  test.each(['iam-policy-cross-account.json', 'iam-policy-instance-snapshot.json', 'iam-policy-publisher.json', 'iam-policy.json'])('%s: Allow statements only, each named, each on named resources', (f) => {
    const p = readPolicy(f);
    expect(p.Version).toBe('2012-10-17');
    const sids = p.Statement.map((s) => s.Sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const s of p.Statement) {
      expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/);
      expect(s.Effect).toBe('Allow');
      for (const a of actionsOf(s)) expect(a).toMatch(/^(iam|s3|kms|ssm|sts):[A-Za-z]+$/);
      // No wildcard action anywhere; a wildcard resource only where IAM has no narrower one.
      for (const a of actionsOf(s)) expect(a).not.toContain('*');
      if (s.Resource === '*') expect(actionsOf(s)).toEqual(['iam:ListUsers']);
    }
  });

  test('the publisher: the IAM reads, reading and writing its own objects, signing and the public key', () => {
    const p = readPolicy('iam-policy-publisher.json');
    expect(bySid(p)).toEqual({
      ReadGroupsAndSshPublicKeys: ['iam:GetGroup', 'iam:GetSSHPublicKey', 'iam:ListSSHPublicKeys'],
      ReadTheLastSnapshot: ['s3:GetObject'],
      TellAMissingSnapshotFromADeniedRead: ['s3:ListBucket'],
      WriteTheSnapshot: ['s3:PutObject'],
      SignTheManifest: ['kms:Sign'],
      VerifyTheLastSnapshotWhenTheKeyIsNotPinned: ['kms:GetPublicKey'],
    });
  });

  test('an instance in snapshot mode: the snapshot objects, the public key only when not pinned, no IAM read', () => {
    const p = readPolicy('iam-policy-instance-snapshot.json');
    expect(bySid(p)).toEqual({
      ReadTheSnapshot: ['s3:GetObject'],
      FetchThePublicKeyWhenNotPinned: ['kms:GetPublicKey'],
      ReadSettingsFromParameterStore: ['ssm:GetParametersByPath'],
    });
    expect(allActions(p).filter((a) => a.startsWith('iam:') || a.startsWith('sts:'))).toEqual([]);
    expect(allActions(p)).not.toContain('kms:Verify');
  });

  test('the S3 resources are exactly the manifest and its bodies, where publish writes them', () => {
    const manifest = 'iam-ssh/access.json';
    const expected = [`arn:aws:s3:::BUCKET/${manifest}`, `arn:aws:s3:::BUCKET/${bodyPrefix(manifest)}*`];
    expect(bodyKey(manifest, 7, 'a'.repeat(64)).startsWith(bodyPrefix(manifest))).toBe(true);
    for (const [f, sid] of [['iam-policy-publisher.json', 'ReadTheLastSnapshot'], ['iam-policy-publisher.json', 'WriteTheSnapshot'], ['iam-policy-instance-snapshot.json', 'ReadTheSnapshot']] as const) {
      expect(readPolicy(f).Statement.find((s) => s.Sid === sid)!.Resource).toEqual(expected);
    }
  });
});

describe('deploy/iam-ssh-publisher.yaml', () => {
  const { template } = readPublisherTemplate();
  const R = template.Resources;
  const statements = (resource: string) => (R[resource]!.Properties.PolicyDocument as PolicyDocument).Statement;

  test('the publisher role is granted what docs/iam-policy-publisher.json grants, and its own log', () => {
    const docs = bySid(readPolicy('iam-policy-publisher.json'));
    const granted = Object.fromEntries(statements('PublisherPolicy').map((s) => [s.Sid, actionsOf(s).sort()]));
    expect(granted).toEqual({
      ReadGroupsAndSshPublicKeys: docs.ReadGroupsAndSshPublicKeys,
      ReadTheLastSnapshot: docs.ReadTheLastSnapshot,
      TellAMissingSnapshotFromADeniedRead: docs.TellAMissingSnapshotFromADeniedRead,
      WriteTheSnapshot: docs.WriteTheSnapshot,
      SignTheManifest: docs.SignTheManifest,
      VerifyTheLastSnapshot: docs.VerifyTheLastSnapshotWhenTheKeyIsNotPinned,
      WriteItsOwnLog: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    });
    expect(R.PublisherPolicy!.Properties.Roles).toEqual([{ Ref: 'PublisherRole' }]);
    for (const s of statements('PublisherPolicy')) expect(s.Resource).not.toBe('*');
  });

  test('the instances\' managed policy is docs/iam-policy-instance-snapshot.json without the optional SSM statement', () => {
    const docs = bySid(readPolicy('iam-policy-instance-snapshot.json'));
    const granted = Object.fromEntries(statements('InstanceReadPolicy').map((s) => [s.Sid, actionsOf(s).sort()]));
    expect(granted).toEqual({ ReadTheSnapshot: docs.ReadTheSnapshot, FetchThePublicKeyWhenNotPinned: docs.FetchThePublicKeyWhenNotPinned });
  });

  test('the signing key: ECC_NIST_P256 for signing; only the publisher role signs, ECDSA_SHA_256 over RAW messages', () => {
    const key = R.SigningKey!.Properties;
    expect(key.KeySpec).toBe('ECC_NIST_P256');
    expect(key.KeyUsage).toBe('SIGN_VERIFY');
    const policy = key.KeyPolicy as PolicyDocument;
    const sign = policy.Statement.filter((s) => actionsOf(s).includes('kms:Sign'));
    expect(sign.map((s) => s.Sid)).toEqual(['OnlyThePublisherSigns']);
    expect(sign[0]).toMatchObject({ Principal: { AWS: { 'Fn::GetAtt': ['PublisherRole', 'Arn'] } }, Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'RAW' } } });
  });

  test('the bucket: versioned, no public access, TLS only, encrypted without KMS (instances need no kms:Decrypt)', () => {
    const b = R.SnapshotBucket!.Properties;
    expect(b.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(b.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(JSON.stringify(b.BucketEncryption)).toContain('AES256');
    const deny = (R.SnapshotBucketPolicy!.Properties.PolicyDocument as PolicyDocument).Statement;
    expect(deny).toEqual([expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
  });

  test('the access-change rule matches exactly the IAM calls the handler accepts', () => {
    expect(R.AccessChangeRule!.Properties.EventPattern).toEqual(accessEventPattern());
  });

  test('every variable the function is given is a config key (a typo would be refused at run time)', () => {
    const vars = Object.keys((R.PublisherFunction!.Properties.Environment as { Variables: Record<string, unknown> }).Variables);
    for (const v of vars) expect([v, isKnownKey(v)]).toEqual([v, true]);
    expect(vars).toEqual(expect.arrayContaining(['SNAPSHOT_URL', 'SNAPSHOT_KMS_KEY', 'IAM_AUTHORIZED_GROUPS', 'MAX_REMOVALS', 'SNAPSHOT_MAX_AGE']));
  });

  test('one publish at a time, invoked by both rules only', () => {
    expect(R.PublisherFunction!.Properties.ReservedConcurrentExecutions).toBe(1);
    const perms = Object.values(R).filter((r) => r.Type === 'AWS::Lambda::Permission');
    expect(perms.map((p) => p.Properties.SourceArn)).toEqual([{ 'Fn::GetAtt': ['ScheduleRule', 'Arn'] }, { 'Fn::GetAtt': ['AccessChangeRule', 'Arn'] }]);
    for (const p of perms) expect(p.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' });
  });
});
