/**
 * The AWS account the publisher reads IAM in, for the snapshot's scope: the role's account
 * with ASSUMEROLE (no call), else STS GetCallerIdentity with the publisher's own credentials.
 */
import type { Config } from '../config/config';
import { clientOptions, loadSdk } from '../aws/sdk';

export async function accountOf(config: Config, calls: Record<string, number>): Promise<string | null> {
  const fromRole = config.assumeRole ? /^arn:aws[a-z-]*:iam::(\d{12}):role\//.exec(config.assumeRole)?.[1] : undefined;
  if (fromRole) return fromRole;
  const sdk = await loadSdk.sts();
  const client = new sdk.STSClient(clientOptions(config, 3));
  try {
    calls.GetCallerIdentity = (calls.GetCallerIdentity ?? 0) + 1;
    const res = await client.send(new sdk.GetCallerIdentityCommand({}));
    return res.Account && /^\d{12}$/.test(res.Account) ? res.Account : null;
  } finally {
    client.destroy();
  }
}
