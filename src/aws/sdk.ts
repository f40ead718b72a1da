/**
 * Lazy loading of the AWS SDK. Parsing the SDK costs tens of milliseconds; the keys cache-hit
 * path must never pay it, so every SDK module is reached only through these functions.
 */
import type { Config } from '../config/config';

export const loadSdk = {
  iam: async () => import('@aws-sdk/client-iam'),
  ssm: async () => import('@aws-sdk/client-ssm'),
  sts: async () => import('@aws-sdk/client-sts'),
  s3: async () => import('@aws-sdk/client-s3'),
  kms: async () => import('@aws-sdk/client-kms'),
};

/**
 * The options every AWS client of iam-ssh is built with: region, endpoint (emulators, VPC
 * endpoints), the tries per request, and the per-request timeouts.
 */
export function clientOptions(config: Config, maxAttempts: number) {
  return {
    region: config.awsRegion,
    ...(config.awsEndpointUrl ? { endpoint: config.awsEndpointUrl } : {}),
    maxAttempts,
    requestHandler: { connectionTimeout: config.iamRequestTimeoutMs, requestTimeout: config.iamRequestTimeoutMs },
  };
}
