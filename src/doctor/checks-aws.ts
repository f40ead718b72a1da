/** `doctor` checks of AWS: credentials, clock skew, and the IAM and SSM permissions iam-ssh uses. */
import type { AwsFailure, AwsFacts, CheckResult, DoctorFacts, Status } from './facts';

type Result = Omit<CheckResult, 'id'>;
const r = (status: Status, summary: string, fix?: string): Result => (fix ? { status, summary, fix } : { status, summary });
const POLICY = 'attach the policy in docs/iam-policy.json to the instance role';
/** SigV4 rejects a request signed more than 5 minutes away from AWS's clock. */
const MAX_SKEW_MS = 5 * 60_000;

function unreachable(f: AwsFacts, what: string, e: AwsFailure): Result {
  return r('fail', `${what} is unreachable: ${e.message}`, `check the network path to ${f.endpoint ?? 'AWS'} (routes, proxy, VPC endpoint, AWS_ENDPOINT_URL)`);
}

function failure(f: AwsFacts, e: AwsFailure, action: string, resource: string): Result {
  const who = f.identity.ok ? f.identity.arn : 'the instance role';
  switch (e.kind) {
    case 'denied':
      return r('fail', `${who} lacks ${action} on ${resource}`, POLICY);
    case 'unreachable':
      return unreachable(f, action.split(':')[0]!.toUpperCase(), e);
    case 'throttled':
      return r('warn', `${action} was throttled: ${e.message}`, 'retry later; many hosts calling IAM at once share one account limit');
    case 'no-credentials':
      return r('fail', `no credentials: ${e.message}`, 'attach an instance profile (IAM role) to the instance');
    default:
      return r('fail', `${action} on ${resource} failed: ${e.message}`);
  }
}

export function checkCredentials(f: DoctorFacts): Result {
  const aws = f.aws;
  if (!aws) return r('skip', 'the config does not load');
  const id = aws.identity;
  if (id.ok) return r('ok', `credentials resolve to ${id.arn}`);
  if (id.kind === 'no-credentials') {
    return r('fail', `no AWS credentials: ${id.message}`, 'attach an instance profile (IAM role); on a container host raise the IMDSv2 hop limit to 2');
  }
  if (id.kind === 'unreachable') return unreachable(aws, 'STS', id);
  return r('fail', `sts:GetCallerIdentity failed: ${id.message}`, 'check the instance role and the clock');
}

export function checkClock(f: DoctorFacts): Result {
  const d = f.aws?.serverDate;
  if (!d) return r('skip', 'no AWS response carried a Date header');
  const server = Date.parse(d.header);
  if (Number.isNaN(server)) return r('skip', `AWS sent an unreadable Date header "${d.header}"`);
  // The header has whole seconds; a second of difference is rounding, not skew.
  const skew = d.localMs - server;
  const text = `${Math.abs(Math.round(skew / 1000))} s ${skew >= 0 ? 'ahead of' : 'behind'} AWS`;
  const fix = 'enable time sync (chronyd or systemd-timesyncd; on EC2 the Amazon Time Sync Service at 169.254.169.123)';
  if (Math.abs(skew) > MAX_SKEW_MS) return r('fail', `the clock is ${text}: AWS rejects every signed request`, fix);
  if (Math.abs(skew) > 60_000) return r('warn', `the clock is ${text}`, fix);
  return r('ok', `the clock is within ${Math.max(1, Math.round(Math.abs(skew) / 1000))} s of AWS`);
}

export function checkIam(f: DoctorFacts): Result {
  const aws = f.aws;
  if (!aws) return r('skip', 'the config does not load');
  if (!aws.identity.ok && aws.identity.kind !== 'other') return r('skip', 'needs credentials (see aws-credentials)');
  const account = aws.identity.ok ? aws.identity.account : '*';
  let warning: Result | null = null;
  for (const g of aws.groups) {
    if (g.result.ok) continue;
    const res = g.group === '*'
      ? failure(aws, g.result, 'iam:ListUsers', `arn:aws:iam::${account}:user/*`)
      : g.result.kind === 'not-found'
        ? r('fail', `IAM group ${g.group} does not exist`, 'create it, or correct IAM_AUTHORIZED_GROUPS')
        : failure(aws, g.result, 'iam:GetGroup', `arn:aws:iam::${account}:group/${g.group}`);
    if (res.status === 'fail') return res;
    warning ??= res;
  }
  const mk = aws.memberKeys;
  if (mk) {
    const resource = `arn:aws:iam::${account}:user/${mk.user}`;
    if (!mk.list.ok) {
      const res = failure(aws, mk.list, 'iam:ListSSHPublicKeys', resource);
      if (res.status === 'fail') return res;
      warning ??= res;
    } else if (mk.get && !mk.get.ok) {
      const res = failure(aws, mk.get, 'iam:GetSSHPublicKey', resource);
      if (res.status === 'fail') return res;
      warning ??= res;
    }
  }
  if (warning) return warning;
  const members = new Set(aws.groups.flatMap((g) => (g.result.ok ? g.result.members : [])));
  const what = aws.groups.some((g) => g.group === '*') ? 'ListUsers' : `GetGroup on ${aws.groups.map((g) => g.group).join(', ')}`;
  if (members.size === 0) return r('warn', `IAM answers ${what}, but no IAM user is authorized`, 'add users to the authorized IAM groups');
  return r('ok', `IAM answers ${what} (${members.size} users)${mk ? ` and ListSSHPublicKeys on ${mk.user}` : ''}`);
}

export function checkSsm(f: DoctorFacts): Result {
  const aws = f.aws;
  if (!aws) return r('skip', 'the config does not load');
  if (!aws.ssm) return r('skip', 'SSM_CONFIG_PATH is not set');
  const { path, result } = aws.ssm;
  if (result.ok) return r('ok', `SSM answers GetParametersByPath on ${path} (${result.count} parameters)`);
  if (!aws.identity.ok && aws.identity.kind !== 'other') return r('skip', 'needs credentials (see aws-credentials)');
  const account = aws.identity.ok ? aws.identity.account : '*';
  return failure(aws, result, 'ssm:GetParametersByPath', `arn:aws:ssm:*:${account}:parameter${path}`);
}

export const AWS_CHECKS = [
  { id: 'aws-credentials', run: checkCredentials },
  { id: 'clock', run: checkClock },
  { id: 'iam', run: checkIam },
  { id: 'ssm', run: checkSsm },
];
