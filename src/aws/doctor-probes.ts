/**
 * The AWS facts of `doctor`: who the credentials are, whether IAM and SSM answer the calls
 * iam-ssh makes, and AWS's clock (the Date header of a response). Each call is made once,
 * without retries, under the IAM request timeout, so a dead endpoint is reported quickly.
 */
import type { Config } from '../config/config';
import type { AwsFacts, AwsFailure, AwsResult } from '../core/doctor-facts';
import { loadSdk } from './sdk';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'EPIPE']);

/** Sorts an SDK or network error into what the operator must do about it. */
export function classifyAwsError(e: unknown): AwsFailure {
  const err = (e ?? {}) as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const name = String(err.name ?? '');
  const message = String(err.message || name || e).slice(0, 300);
  const code = err.code ?? err.cause?.code ?? '';
  const kind = /AccessDenied|UnauthorizedOperation|AuthorizationError|NotAuthorized/i.test(name) ? 'denied'
    : /NoSuchEntity|ParameterNotFound/.test(name) ? 'not-found'
    : /Throttl|RequestLimitExceeded|TooManyRequests/i.test(name) ? 'throttled'
    : name === 'CredentialsProviderError' || /could not load credentials/i.test(message) ? 'no-credentials'
    : NETWORK_CODES.has(code) || NETWORK_CODES.has(name) || name === 'TimeoutError' || name === 'AbortError' || /timed? ?out|socket hang up|ECONNREFUSED|ENOTFOUND/i.test(message) ? 'unreachable'
    : 'other';
  return { ok: false, kind, message: name && !message.startsWith(name) && kind !== 'unreachable' ? `${name}: ${message}` : message };
}

async function attempt<T extends object>(call: () => Promise<T>): Promise<AwsResult<T>> {
  try {
    return { ok: true, ...(await call()) };
  } catch (e) {
    return classifyAwsError(e);
  }
}

interface Stackable {
  middlewareStack: { add(mw: unknown, opts: { step: 'deserialize'; priority: 'low'; name: string }): void };
}

export async function probeAws(config: Config, ssmPath: string | null): Promise<AwsFacts> {
  const [stsSdk, iamSdk] = await Promise.all([loadSdk.sts(), loadSdk.iam()]);
  const common = {
    region: config.awsRegion,
    ...(config.awsEndpointUrl ? { endpoint: config.awsEndpointUrl } : {}),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: config.iamRequestTimeoutMs, requestTimeout: config.iamRequestTimeoutMs },
  };
  let serverDate: AwsFacts['serverDate'] = null;
  // Inside the deserializer, so that it sees the raw response of errors too (a skewed clock gets one).
  const watchDate = (client: Stackable) =>
    client.middlewareStack.add(
      (next: (a: unknown) => Promise<{ response?: { headers?: Record<string, string> } }>) => async (args: unknown) => {
        const out = await next(args);
        const header = out.response?.headers?.date;
        if (header && !serverDate) serverDate = { header, localMs: Date.now() };
        return out;
      },
      { step: 'deserialize', priority: 'low', name: 'iamSshDoctorDate' },
    );
  const sts = new stsSdk.STSClient(common);
  const iam = new iamSdk.IAMClient(common);
  watchDate(sts as unknown as Stackable);
  watchDate(iam as unknown as Stackable);
  try {
    const identity = await attempt(async () => {
      const res = await sts.send(new stsSdk.GetCallerIdentityCommand({}));
      return { arn: res.Arn ?? '?', account: res.Account ?? '?' };
    });
    const groups: AwsFacts['groups'] = [];
    const members = async (users: { UserName?: string }[] | undefined) => ({ members: (users ?? []).map((u) => u.UserName ?? '').filter((n) => n !== '') });
    if (config.authorizedGroups.length === 0) {
      groups.push({ group: '*', result: await attempt(async () => members((await iam.send(new iamSdk.ListUsersCommand({}))).Users)) });
    }
    for (const group of config.authorizedGroups) {
      groups.push({ group, result: await attempt(async () => members((await iam.send(new iamSdk.GetGroupCommand({ GroupName: group }))).Users)) });
    }
    const user = groups.flatMap((g) => (g.result.ok ? g.result.members : []))[0];
    let memberKeys: AwsFacts['memberKeys'] = null;
    if (user !== undefined) {
      const list = await attempt(async () => ({
        keyIds: ((await iam.send(new iamSdk.ListSSHPublicKeysCommand({ UserName: user }))).SSHPublicKeys ?? []).map((k) => k.SSHPublicKeyId ?? ''),
      }));
      const first = list.ok ? list.keyIds[0] : undefined;
      const get = first
        ? await attempt(async () => {
          await iam.send(new iamSdk.GetSSHPublicKeyCommand({ UserName: user, SSHPublicKeyId: first, Encoding: 'SSH' }));
          return {};
        })
        : null;
      memberKeys = { user, list, get };
    }
    const ssm = ssmPath === null ? null : { path: ssmPath, result: await probeSsm(common, ssmPath) };
    return { endpoint: config.awsEndpointUrl, identity, serverDate, groups, memberKeys, ssm };
  } finally {
    sts.destroy();
    iam.destroy();
  }
}

async function probeSsm(common: object, path: string): Promise<AwsResult<{ count: number }>> {
  const sdk = await loadSdk.ssm();
  const ssm = new sdk.SSMClient(common);
  try {
    return await attempt(async () => ({
      count: ((await ssm.send(new sdk.GetParametersByPathCommand({ Path: path, Recursive: true, WithDecryption: true, MaxResults: 10 }))).Parameters ?? []).length,
    }));
  } finally {
    ssm.destroy();
  }
}
