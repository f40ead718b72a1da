/**
 * The AWS facts of `doctor`: who the credentials are, whether IAM and SSM answer the calls
 * iam-ssh makes, and AWS's clock (the Date header of a response). Each call is made once,
 * without retries, under the IAM request timeout, so a dead endpoint is reported quickly.
 */
import type { Config } from '../config/config';
import type { AwsFacts, AwsFailure, AwsResult } from './facts';
import { clientOptions, loadSdk } from '../aws/sdk';
import { iamClientOptions, iamDirectory, type IamUserRef } from '../aws/iam';
import { readParametersByPath } from '../aws/ssm';

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
  let serverDate: AwsFacts['serverDate'] = null;
  // Inside the deserializer, so that it sees the raw response of errors too (a skewed clock gets one).
  const watchDate = <C>(client: C): C => {
    (client as unknown as Stackable).middlewareStack.add(
      (next: (a: unknown) => Promise<{ response?: { headers?: Record<string, string> } }>) => async (args: unknown) => {
        const out = await next(args);
        const header = out.response?.headers?.date;
        if (header && !serverDate) serverDate = { header, localMs: Date.now() };
        return out;
      },
      { step: 'deserialize', priority: 'low', name: 'iamSshDoctorDate' },
    );
    return client;
  };
  // One try per call, so that a dead endpoint is reported quickly. The credentials are the
  // instance's for STS and SSM, and the role's (ASSUMEROLE) for IAM, exactly as sync has them.
  const sts = watchDate(new stsSdk.STSClient(clientOptions(config, 1)));
  const iamClient = watchDate(new iamSdk.IAMClient(iamClientOptions(config, config.stateDir, 1)));
  const iam = iamDirectory(iamSdk, iamClient);
  try {
    const identity = await attempt(async () => {
      const res = await sts.send(new stsSdk.GetCallerIdentityCommand({}));
      return { arn: res.Arn ?? '?', account: res.Account ?? '?' };
    });
    const groups: AwsFacts['groups'] = [];
    const members = (users: IamUserRef[]) => ({ members: users.map((u) => u.userName) });
    if (config.authorizedGroups.length === 0) groups.push({ group: '*', result: await attempt(async () => members(await iam.listUsers())) });
    for (const group of config.authorizedGroups) groups.push({ group, result: await attempt(async () => members(await iam.listGroupMembers(group))) });
    const user = groups.flatMap((g) => (g.result.ok ? g.result.members : []))[0];
    let memberKeys: AwsFacts['memberKeys'] = null;
    if (user !== undefined) {
      const list = await attempt(async () => ({ keyIds: await iam.listActiveKeyIds(user) }));
      const first = list.ok ? list.keyIds[0] : undefined;
      const get = first ? await attempt(async () => (await iam.getKey(user, first), {})) : null;
      memberKeys = { user, list, get };
    }
    const ssm = ssmPath === null ? null : { path: ssmPath, result: await probeSsm(config, ssmPath, watchDate) };
    return { endpoint: config.awsEndpointUrl, identity, serverDate, groups, memberKeys, ssm };
  } finally {
    sts.destroy();
    iamClient.destroy();
  }
}

/** The same read as sync's SSM layer (src/aws/ssm.ts), on a client that watches the clock. */
async function probeSsm(config: Config, path: string, watchDate: <C>(c: C) => C): Promise<AwsResult<{ count: number }>> {
  const sdk = await loadSdk.ssm();
  const client = watchDate(new sdk.SSMClient(clientOptions(config, 1)));
  try {
    return await attempt(async () => ({ count: (await readParametersByPath(sdk, client, path)).length }));
  } finally {
    client.destroy();
  }
}
