/**
 * Reads the settings layer from SSM Parameter Store with the instance's own credentials:
 * every parameter directly under the path, page by page (SSM returns at most 10 a page).
 */
import type { Config } from '../config/config';
import type { SsmParameter } from '../config/layers';
import { loadSdk } from './sdk';

/** Guards against a service that keeps returning a NextToken. */
const MAX_PAGES = 1_000;

export async function readSsmParameters(config: Config, path: string): Promise<SsmParameter[]> {
  const sdk = await loadSdk.ssm();
  const client = new sdk.SSMClient({
    region: config.awsRegion,
    ...(config.awsEndpointUrl ? { endpoint: config.awsEndpointUrl } : {}),
    maxAttempts: 3,
    requestHandler: { connectionTimeout: config.iamRequestTimeoutMs, requestTimeout: config.iamRequestTimeoutMs },
  });
  try {
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
  } finally {
    client.destroy();
  }
}
