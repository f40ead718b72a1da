/**
 * The IAM reads iam-ssh needs, behind a small interface. Every list is read to its last
 * page (IAM pages at 100 items by default), and every call is counted. A page that lacks an
 * element every complete answer has (an HTTP 200 with an empty or cut body, a proxy's page)
 * is an error: a missing list is never read as an empty one, which would revoke everyone.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import type { Config } from '../config/config';
import { clientOptions, loadSdk } from './sdk';
import { roleCredentialsProvider } from './assume-role';

export interface IamUserRef {
  userName: string;
  userId: string;
}

export interface IamKeyBody {
  id: string;
  status: string;
  body: string;
}

export interface IamDirectory {
  listGroupMembers(group: string, signal?: AbortSignal): Promise<IamUserRef[]>;
  listUsers(signal?: AbortSignal): Promise<IamUserRef[]>;
  /** Ids of the user's SSH keys whose status is Active. */
  listActiveKeyIds(userName: string, signal?: AbortSignal): Promise<string[]>;
  getKey(userName: string, keyId: string, signal?: AbortSignal): Promise<IamKeyBody>;
  /** API calls made so far, by operation name. */
  readonly calls: Record<string, number>;
}

type IamSdk = typeof import('@aws-sdk/client-iam');
/** Only `send` is used, so that a test can stand in for the client where the emulator cannot. */
export type IamSender = Pick<IAMClient, 'send'>;

/** Guards against a service that keeps answering IsTruncated (a bug, or an attack on the loop). */
const MAX_PAGES = 10_000;

/** An answer without an element that every complete answer of its operation has. */
export class IncompleteAnswerError extends Error {
  override name = 'IncompleteAnswer';
}

function missing(name: string, page: number, element: string): IncompleteAnswerError {
  return new IncompleteAnswerError(`${name}: page ${page + 1} of the answer has no ${element} element`);
}

/** The list `element` of page `page` (0-based) of `name`'s answer; present, or an error. */
function listOf<T>(name: string, page: number, element: string, value: T[] | undefined): T[] {
  if (!Array.isArray(value)) throw missing(name, page, element);
  return value;
}

export function iamDirectory(sdk: IamSdk, client: IamSender): IamDirectory {
  const calls: Record<string, number> = {};
  const send = async <T>(name: string, command: unknown, signal?: AbortSignal): Promise<T> => {
    calls[name] = (calls[name] ?? 0) + 1;
    return (await client.send(command as never, { abortSignal: signal })) as T;
  };

  async function paginate<P extends { IsTruncated?: boolean; Marker?: string }, I>(
    name: string,
    make: (marker: string | undefined) => unknown,
    items: (res: P, page: number) => I[],
    signal?: AbortSignal,
  ): Promise<I[]> {
    const out: I[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await send<P>(name, make(marker), signal);
      out.push(...items(res ?? ({} as P), page));
      if (!res.IsTruncated) return out;
      if (!res.Marker || res.Marker === marker) throw new Error(`${name}: truncated page without a new Marker`);
      marker = res.Marker;
    }
    throw new Error(`${name}: more than ${MAX_PAGES} pages`);
  }

  const ref = (u: { UserName?: string; UserId?: string }): IamUserRef => {
    if (!u.UserName || !u.UserId) throw new Error('IAM returned a user without UserName/UserId');
    return { userName: u.UserName, userId: u.UserId };
  };

  return {
    calls,
    listGroupMembers: (group, signal) =>
      paginate<import('@aws-sdk/client-iam').GetGroupResponse, IamUserRef>(
        'GetGroup',
        (Marker) => new sdk.GetGroupCommand({ GroupName: group, Marker }),
        (p, page) => {
          if (typeof p.Group !== 'object' || p.Group === null) throw missing('GetGroup', page, 'Group');
          // IAM group names are unique regardless of case, and GetGroup answers with the stored case.
          if (p.Group.GroupName?.toLowerCase() !== group.toLowerCase()) {
            throw new IncompleteAnswerError(`GetGroup: page ${page + 1} of the answer for group ${group} names another group (${String(p.Group.GroupName)})`);
          }
          return listOf('GetGroup', page, 'Users', p.Users).map(ref);
        },
        signal,
      ),
    listUsers: (signal) =>
      paginate<import('@aws-sdk/client-iam').ListUsersResponse, IamUserRef>(
        'ListUsers',
        (Marker) => new sdk.ListUsersCommand({ Marker }),
        (p, page) => listOf('ListUsers', page, 'Users', p.Users).map(ref),
        signal,
      ),
    listActiveKeyIds: async (userName, signal) => {
      const metas = await paginate<import('@aws-sdk/client-iam').ListSSHPublicKeysResponse, { id: string; status: string }>(
        'ListSSHPublicKeys',
        (Marker) => new sdk.ListSSHPublicKeysCommand({ UserName: userName, Marker }),
        (p, page) => listOf('ListSSHPublicKeys', page, 'SSHPublicKeys', p.SSHPublicKeys).map((k) => ({ id: k.SSHPublicKeyId ?? '', status: String(k.Status ?? '') })),
        signal,
      );
      return metas.filter((k) => k.status === 'Active' && k.id !== '').map((k) => k.id);
    },
    getKey: async (userName, keyId, signal) => {
      const res = await send<import('@aws-sdk/client-iam').GetSSHPublicKeyResponse>(
        'GetSSHPublicKey',
        new sdk.GetSSHPublicKeyCommand({ UserName: userName, SSHPublicKeyId: keyId, Encoding: 'SSH' }),
        signal,
      );
      const k = res.SSHPublicKey;
      return { id: keyId, status: String(k?.Status ?? ''), body: k?.SSHPublicKeyBody ?? '' };
    },
  };
}

/**
 * Builds the real client from the Config. The SDK is loaded here, never at start-up. With
 * ASSUMEROLE the client signs with the role's temporary credentials, cached in
 * `roleCredentialsDir` (a directory only the running user writes); otherwise with the
 * instance's own. `maxAttempts`: the SDK's tries per request, backoff included (the login
 * path lowers it).
 */
export async function createIamDirectory(config: Config, roleCredentialsDir: string = config.stateDir, opts: { maxAttempts?: number } = {}): Promise<IamDirectory> {
  const sdk = await loadSdk.iam();
  return iamDirectory(sdk, new sdk.IAMClient(iamClientOptions(config, roleCredentialsDir, opts.maxAttempts ?? 2)));
}

/** The IAM client's options: the common ones, and the role's credentials with ASSUMEROLE. */
export function iamClientOptions(config: Config, roleCredentialsDir: string, maxAttempts: number) {
  return {
    ...clientOptions(config, maxAttempts),
    ...(config.assumeRole ? { credentials: roleCredentialsProvider(config, roleCredentialsDir) } : {}),
  };
}

/** How the commands get an IamDirectory; the login path's is a loader of the full bundle. */
export type IamFactory = typeof createIamDirectory;
