/**
 * Reads the settings layer from SSM Parameter Store with the instance's own credentials:
 * every parameter directly under the path, page by page (SSM returns at most 10 a page).
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Config } from '../config/config';
import type { SsmParameter } from '../config/layers';
import { clientOptions, loadSdk } from './sdk';

/** Guards against a service that keeps returning a NextToken. */
const MAX_PAGES = 1_000;

type SsmSdk = typeof import('@aws-sdk/client-ssm');

export async function readSsmParameters(config: Config, path: string): Promise<SsmParameter[]> {
  const sdk = await loadSdk.ssm();
  const client = new sdk.SSMClient(clientOptions(config, 3));
  try {
    return await readParametersByPath(sdk, client, path);
  } finally {
    client.destroy();
  }
}

/** The read itself, on a client the caller built (doctor builds one that also watches the clock). */
export async function readParametersByPath(sdk: SsmSdk, client: Pick<SSMClient, 'send'>, path: string): Promise<SsmParameter[]> {
  const out: SsmParameter[] = [];
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await client.send(new sdk.GetParametersByPathCommand({ Path: path, Recursive: false, WithDecryption: false, MaxResults: 10, NextToken: token }));
    for (const p of res.Parameters ?? []) {
      if (p.Name === undefined || p.Value === undefined) throw new Error('SSM returned a parameter without Name or Value');
      out.push({ name: p.Name, value: p.Value, type: String(p.Type ?? 'String') });
    }
    if (!res.NextToken) return out;
    if (res.NextToken === token) throw new Error('GetParametersByPath: the same NextToken twice');
    token = res.NextToken;
  }
  throw new Error(`GetParametersByPath: more than ${MAX_PAGES} pages`);
}
