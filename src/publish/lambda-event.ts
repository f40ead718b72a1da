/**
 * What may start a publish in AWS Lambda: the schedule rule's event, or an IAM call that
 * changes access, delivered by EventBridge from CloudTrail. Anything else (a console test
 * event, an S3 or SNS record, a custom event) is refused: the function does one thing.
 */
import { isIamUserName } from '../util/validators';

/**
 * The IAM calls after which the access snapshot is out of date: group membership, SSH keys
 * (an update switches a key between Active and Inactive), a user or group deleted, and a user
 * or group renamed (UpdateUser/UpdateGroup with a new name: the account name or the configured
 * group no longer matches). CreateUser and CreateGroup grant nothing by themselves; the
 * schedule catches every other change. The template's rule lists exactly these.
 */
export const ACCESS_EVENT_NAMES: readonly string[] = Object.freeze([
  'AddUserToGroup',
  'RemoveUserFromGroup',
  'UploadSSHPublicKey',
  'UpdateSSHPublicKey',
  'DeleteSSHPublicKey',
  'DeleteUser',
  'UpdateUser',
  'DeleteGroup',
  'UpdateGroup',
]);

export type Trigger =
  | { kind: 'schedule'; rule: string; time: string }
  | { kind: 'iam-change'; eventName: string; time: string; userName: string | null };

export type Classified = { ok: true; trigger: Trigger } | { ok: false; reason: string };

/** The EventBridge pattern of the rule that starts a publish on an access change. */
export function accessEventPattern(): Record<string, unknown> {
  return {
    source: ['aws.iam'],
    'detail-type': ['AWS API Call via CloudTrail'],
    // Only calls that succeeded: anyone can make a call that fails, and each event is a read.
    detail: { eventSource: ['iam.amazonaws.com'], eventName: [...ACCESS_EVENT_NAMES], errorCode: [{ exists: false }] },
  };
}

const RULE_ARN = /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:rule\/[\w.\-/]{1,128}$/;

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A field's value for a message: short, one line, never the whole event. */
function shown(x: unknown): string {
  const s = typeof x === 'string' ? JSON.stringify(x) : x === undefined ? 'none' : typeof x;
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

const refuse = (reason: string): Classified => ({ ok: false, reason });

export function classifyEvent(event: unknown): Classified {
  if (!isRecord(event)) return refuse(`not an EventBridge event (${Array.isArray(event) ? 'an array' : event === null ? 'null' : typeof event})`);
  const detailType = event['detail-type'];
  const source = event.source;
  const time = event.time;
  if (typeof detailType !== 'string' || typeof source !== 'string') return refuse('not an EventBridge event (no detail-type or source)');
  if (typeof time !== 'string') return refuse('not an EventBridge event (no time)');
  if (detailType === 'Scheduled Event') {
    if (source !== 'aws.events') return refuse(`a scheduled event from ${shown(source)}, not aws.events`);
    const resources = event.resources;
    const rule = Array.isArray(resources) ? resources.find((r): r is string => typeof r === 'string' && RULE_ARN.test(r)) : undefined;
    if (!rule) return refuse('a scheduled event that names no rule');
    return { ok: true, trigger: { kind: 'schedule', rule, time } };
  }
  if (detailType === 'AWS API Call via CloudTrail') {
    if (source !== 'aws.iam') return refuse(`a CloudTrail event from ${shown(source)}, not aws.iam`);
    const detail = event.detail;
    if (!isRecord(detail)) return refuse('a CloudTrail event without detail');
    if (detail.eventSource !== 'iam.amazonaws.com') return refuse(`a CloudTrail event of ${shown(detail.eventSource)}, not iam.amazonaws.com`);
    const name = detail.eventName;
    if (typeof name !== 'string' || !ACCESS_EVENT_NAMES.includes(name)) return refuse(`the IAM call ${shown(name)} changes no access`);
    if (detail.errorCode !== undefined) return refuse(`the IAM call ${name} failed (${shown(detail.errorCode)}): nothing changed`);
    const params = detail.requestParameters;
    const user = isRecord(params) ? params.userName : undefined;
    return { ok: true, trigger: { kind: 'iam-change', eventName: name, time, userName: typeof user === 'string' && isIamUserName(user) ? user : null } };
  }
  return refuse(`an event of type ${shown(detailType)} from ${shown(source)}`);
}

/**
 * How long after an IAM call a read is taken to see it: IAM is eventually consistent, and the
 * event's time (CloudTrail's clock) and the function's clock may differ a little.
 */
export const SETTLE_MS = 60_000;

/**
 * An access change that a successful read started after it (with SETTLE_MS to spare) already
 * saw: publishing again would read IAM in full for nothing. A burst of changes (20 people
 * onboarded: 40 events) then costs a few reads, not one each. Schedules always publish.
 */
export function coveredByLastRead(trigger: Trigger, lastReadStartedAt: number | null): boolean {
  if (trigger.kind !== 'iam-change' || lastReadStartedAt === null) return false;
  const at = Date.parse(trigger.time);
  return Number.isFinite(at) && at + SETTLE_MS <= lastReadStartedAt;
}
