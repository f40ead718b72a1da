/**
 * The access snapshot's AWS side in moto: a bucket, a KMS signing key (ECC_NIST_P256) and its
 * public key as PEM, and raw S3 reads and writes for the attack tests.
 */
import { S3Client, CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { KMSClient, CreateKeyCommand, GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { TEST_CREDENTIALS } from './moto';

export interface SigningKey {
  keyId: string;
  arn: string;
  pem: string;
}

export function s3Client(endpoint: string): S3Client {
  return new S3Client({ region: 'us-east-1', endpoint, credentials: TEST_CREDENTIALS, forcePathStyle: true });
}

export function kmsClient(endpoint: string): KMSClient {
  return new KMSClient({ region: 'us-east-1', endpoint, credentials: TEST_CREDENTIALS });
}

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const s3 = s3Client(endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
}

export async function createSigningKey(endpoint: string): Promise<SigningKey> {
  const kms = kmsClient(endpoint);
  const created = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
  const pub = await kms.send(new GetPublicKeyCommand({ KeyId: created.KeyMetadata!.KeyId! }));
  kms.destroy();
  const b64 = Buffer.from(pub.PublicKey!).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return { keyId: created.KeyMetadata!.KeyId!, arn: created.KeyMetadata!.Arn!, pem: `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n` };
}

export async function getObject(endpoint: string, bucket: string, key: string): Promise<Buffer> {
  const s3 = s3Client(endpoint);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = Buffer.from(await res.Body!.transformToByteArray());
  s3.destroy();
  return body;
}

export async function putObject(endpoint: string, bucket: string, key: string, body: Buffer | string): Promise<void> {
  const s3 = s3Client(endpoint);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  s3.destroy();
}
