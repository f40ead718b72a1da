import { ACCESS_EVENT_NAMES, SETTLE_MS, accessEventPattern, classifyEvent, coveredByLastRead, type Trigger } from '../../../src/publish/lambda-event';

const scheduled = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-11-30T02:40:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/iam-ssh-publisher-schedule'],
  detail: {},
};

const cloudTrail = (eventName: string, extra: Record<string, unknown> = {}) => ({
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.iam',
  account: '123456789012',
  time: '2026-11-30T02:41:07Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    eventVersion: '1.09',
    eventSource: 'iam.amazonaws.com',
    eventName,
    awsRegion: 'us-east-1',
    requestParameters: { userName: 'alice', groupName: 'ssh-users' },
    ...extra,
  },
});

describe('classifyEvent', () => {
  test('a scheduled event is accepted, with the rule that fired', () => {
    expect(classifyEvent(scheduled)).toEqual({ ok: true, trigger: { kind: 'schedule', rule: 'arn:aws:events:us-east-1:123456789012:rule/iam-ssh-publisher-schedule', time: '2026-11-30T02:40:00Z' } });
  });

  test.each(ACCESS_EVENT_NAMES.map((n) => [n]))('the CloudTrail event %s is accepted', (name) => {
    const r = classifyEvent(cloudTrail(name));
    expect(r).toEqual({ ok: true, trigger: { kind: 'iam-change', eventName: name, time: '2026-11-30T02:41:07Z', userName: 'alice' } });
  });

  test('the user named is optional (DeleteGroup names none) and only a valid IAM user name is passed on', () => {
    const r = classifyEvent(cloudTrail('DeleteGroup', { requestParameters: { groupName: 'ssh-users' } }));
    expect(r).toEqual({ ok: true, trigger: { kind: 'iam-change', eventName: 'DeleteGroup', time: '2026-11-30T02:41:07Z', userName: null } });
    const odd = classifyEvent(cloudTrail('AddUserToGroup', { requestParameters: { userName: 'a\nb' } }));
    expect(odd.ok && odd.trigger.kind === 'iam-change' && odd.trigger.userName).toBeNull();
  });

  test.each([
    ['null', null],
    ['a string', 'Scheduled Event'],
    ['an array', [scheduled]],
    ['an empty object', {}],
    ['a test event of the console', { key1: 'value1', key2: 'value2' }],
    ['no detail-type', { ...scheduled, 'detail-type': undefined }],
    ['another source for a schedule', { ...scheduled, source: 'aws.s3' }],
    ['a schedule with no rule', { ...scheduled, resources: [] }],
    ['a schedule whose rule is not a rule ARN', { ...scheduled, resources: ['arn:aws:s3:::bucket'] }],
    ['a schedule without time', { ...scheduled, time: 42 }],
    ['a CloudTrail event of another service', { ...cloudTrail('AddUserToGroup'), source: 'aws.s3' }],
    ['a CloudTrail event whose detail names another service', cloudTrail('AddUserToGroup', { eventSource: 's3.amazonaws.com' })],
    ['an IAM call that changes no access', cloudTrail('CreateUser')],
    ['an IAM call that failed (anyone may make one)', cloudTrail('AddUserToGroup', { errorCode: 'AccessDenied', errorMessage: 'not authorized' })],
    ['a read-only IAM call', cloudTrail('GetGroup')],
    ['an event name of another case', cloudTrail('addusertogroup')],
    ['a CloudTrail event without detail', { ...cloudTrail('AddUserToGroup'), detail: undefined }],
    ['a CloudTrail event whose detail is a string', { ...cloudTrail('AddUserToGroup'), detail: 'AddUserToGroup' }],
    ['an S3 notification', { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' }] }],
    ['an SNS message', { Records: [{ EventSource: 'aws:sns' }] }],
    ['a custom event', { ...scheduled, source: 'my.app', 'detail-type': 'Publish Now' }],
  ])('%s is refused', (_what, event) => {
    const r = classifyEvent(event);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toMatch(/\S/);
  });

  test('a refusal never echoes more than a bounded part of the event', () => {
    const r = classifyEvent({ ...scheduled, 'detail-type': 'x'.repeat(100_000) });
    expect(r.ok ? '' : r.reason.length).toBeLessThan(300);
  });
});

describe('accessEventPattern', () => {
  test('matches exactly the accepted IAM calls, from IAM through CloudTrail', () => {
    expect(accessEventPattern()).toEqual({
      source: ['aws.iam'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: { eventSource: ['iam.amazonaws.com'], eventName: [...ACCESS_EVENT_NAMES], errorCode: [{ exists: false }] },
    });
  });

  test('covers membership, keys, deletion and renames; not calls that grant nothing', () => {
    for (const n of ['AddUserToGroup', 'RemoveUserFromGroup', 'UploadSSHPublicKey', 'UpdateSSHPublicKey', 'DeleteSSHPublicKey', 'DeleteUser', 'UpdateUser', 'DeleteGroup', 'UpdateGroup']) {
      expect(ACCESS_EVENT_NAMES).toContain(n);
    }
    for (const n of ['CreateUser', 'CreateGroup', 'TagUser', 'GetGroup', 'ListSSHPublicKeys']) expect(ACCESS_EVENT_NAMES).not.toContain(n);
  });
});

describe('coveredByLastRead', () => {
  const change = (time: string): Trigger => ({ kind: 'iam-change', eventName: 'AddUserToGroup', time, userName: 'alice' });
  const at = Date.parse('2026-11-30T03:00:00Z');

  test('a change that a read started after (with time to settle) is covered', () => {
    expect(coveredByLastRead(change('2026-11-30T03:00:00Z'), at + SETTLE_MS)).toBe(true);
    expect(coveredByLastRead(change('2026-11-30T02:50:00Z'), at)).toBe(true);
  });

  test('a change too close to, or after, the last read start is not', () => {
    expect(coveredByLastRead(change('2026-11-30T03:00:00Z'), at + SETTLE_MS - 1)).toBe(false);
    expect(coveredByLastRead(change('2026-11-30T03:05:00Z'), at)).toBe(false);
  });

  test('no read yet (a cold function), a schedule, or an unreadable time: publish', () => {
    expect(coveredByLastRead(change('2026-11-30T02:00:00Z'), null)).toBe(false);
    expect(coveredByLastRead({ kind: 'schedule', rule: 'arn:aws:events:us-east-1:123456789012:rule/x', time: '2026-11-30T02:00:00Z' }, at)).toBe(false);
    expect(coveredByLastRead(change('yesterday'), at)).toBe(false);
  });
});
