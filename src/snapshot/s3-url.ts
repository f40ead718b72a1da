/**
 * SNAPSHOT_URL (`s3://bucket/key`): where the signed manifest lives, and where the bodies go
 * beside it (`<key>.d/<serial>-<sha256>.json`). Pure.
 */
export interface S3Location {
  bucket: string;
  key: string;
}

/** S3's bucket naming rules (lower case, digits, dots, hyphens; 3..63). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) throw new Error(`"${url}" is not an s3://bucket/key URL`);
  const [, bucket, key] = m as unknown as [string, string, string];
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw new Error(`"${bucket}" is not an S3 bucket name`);
  if (key.length > 900 || key.endsWith('/') || /[\0-\x1f\x7f]/.test(key) || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`"${key}" is not an object key iam-ssh accepts (no empty, . or .. part, no trailing /)`);
  }
  return { bucket, key };
}

/** The prefix every body of this manifest lives under. */
export function bodyPrefix(manifestKey: string): string {
  return `${manifestKey}.d/`;
}

export function bodyKey(manifestKey: string, serial: number, sha256: string): string {
  return `${bodyPrefix(manifestKey)}${String(serial).padStart(12, '0')}-${sha256}.json`;
}

/** The one body key a manifest for this location may name: the serial and hash it signs. */
export function isExpectedBodyKey(manifestKey: string, object: string, serial: number, sha256: string): boolean {
  return object === bodyKey(manifestKey, serial, sha256);
}
