/**
 * The S3 reads and writes of the access snapshot, behind a small interface, every call
 * counted. A conditional GET that S3 answers 304 is an outcome, not an error.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config/config';
import { clientOptions, loadSdk } from './sdk';

export type GetResult =
  | { status: 'ok'; body: Buffer; etag: string }
  | { status: 'not-modified' }
  | { status: 'missing' };

export interface ObjectStore {
  /** With `ifNoneMatch`, S3 answers 304 when the object still has that ETag. */
  get(bucket: string, key: string, opts?: { ifNoneMatch?: string; maxBytes?: number; signal?: AbortSignal }): Promise<GetResult>;
  put(bucket: string, key: string, body: string, contentType: string): Promise<void>;
  readonly calls: Record<string, number>;
}

type S3Sdk = typeof import('@aws-sdk/client-s3');
export type S3Sender = Pick<S3Client, 'send'>;

/** A body larger than this is refused unread (a snapshot of 100,000 users is ~40 MB). */
export const DEFAULT_MAX_OBJECT_BYTES = 128 * 1024 * 1024;

export function objectStore(sdk: S3Sdk, client: S3Sender): ObjectStore {
  const calls: Record<string, number> = {};
  const count = (name: string) => void (calls[name] = (calls[name] ?? 0) + 1);
  return {
    calls,
    async get(bucket, key, opts = {}) {
      count('GetObject');
      const maxBytes = opts.maxBytes ?? DEFAULT_MAX_OBJECT_BYTES;
      let res;
      try {
        res = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key, ...(opts.ifNoneMatch ? { IfNoneMatch: opts.ifNoneMatch } : {}) }), { abortSignal: opts.signal });
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 304) return { status: 'not-modified' };
        if (status === 404 || (e as { name?: string }).name === 'NoSuchKey') return { status: 'missing' };
        throw e;
      }
      if (!res.Body) throw new Error(`GetObject s3://${bucket}/${key}: the answer has no body`);
      if (typeof res.ContentLength === 'number' && res.ContentLength > maxBytes) throw new Error(`GetObject s3://${bucket}/${key}: ${res.ContentLength} bytes is over the limit of ${maxBytes}`);
      const body = Buffer.from(await res.Body.transformToByteArray());
      if (body.length > maxBytes) throw new Error(`GetObject s3://${bucket}/${key}: over the limit of ${maxBytes} bytes`);
      // An answer without an ETag cannot be asked for conditionally: refuse it as incomplete.
      if (!res.ETag) throw new Error(`GetObject s3://${bucket}/${key}: the answer has no ETag`);
      return { status: 'ok', body, etag: res.ETag };
    },
    async put(bucket, key, body, contentType) {
      count('PutObject');
      await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, CacheControl: 'no-cache' }));
    },
  };
}

/**
 * The S3 client from the Config, with the instance's (or publisher's) own credentials. Path-style
 * addressing with a custom endpoint: an emulator or a private endpoint on an IP address has no
 * per-bucket host names.
 */
export async function createObjectStore(config: Config, maxAttempts = 3): Promise<ObjectStore> {
  const sdk = await loadSdk.s3();
  return objectStore(sdk, new sdk.S3Client({ ...clientOptions(config, maxAttempts), forcePathStyle: config.awsEndpointUrl !== null }));
}
