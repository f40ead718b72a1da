/**
 * KMS for the access snapshot: the publisher signs the manifest bytes (ECDSA_SHA_256,
 * MessageType RAW: KMS hashes them itself), and an instance may fetch the public key once.
 * Every call is counted.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { Config } from '../config/config';
import { clientOptions, loadSdk } from './sdk';

export interface ManifestSigner {
  /** The DER signature of `message`, and the key's ARN as KMS names it. */
  sign(keyId: string, message: Buffer): Promise<{ signature: Buffer; keyId: string }>;
  /** The key's public key as a PEM (SubjectPublicKeyInfo). */
  publicKeyPem(keyId: string): Promise<string>;
  readonly calls: Record<string, number>;
}

type KmsSdk = typeof import('@aws-sdk/client-kms');
export type KmsSender = Pick<KMSClient, 'send'>;

export function manifestSigner(sdk: KmsSdk, client: KmsSender): ManifestSigner {
  const calls: Record<string, number> = {};
  const count = (name: string) => void (calls[name] = (calls[name] ?? 0) + 1);
  return {
    calls,
    async sign(keyId, message) {
      count('Sign');
      const res = await client.send(new sdk.SignCommand({ KeyId: keyId, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
      if (!res.Signature || res.Signature.length === 0) throw new Error('KMS Sign: the answer has no signature');
      if (res.SigningAlgorithm && res.SigningAlgorithm !== 'ECDSA_SHA_256') throw new Error(`KMS Sign: signed with ${res.SigningAlgorithm}`);
      return { signature: Buffer.from(res.Signature), keyId: res.KeyId ?? keyId };
    },
    async publicKeyPem(keyId) {
      count('GetPublicKey');
      const res = await client.send(new sdk.GetPublicKeyCommand({ KeyId: keyId }));
      if (!res.PublicKey) throw new Error('KMS GetPublicKey: the answer has no public key');
      // The PEM's curve is checked again where it becomes the trust root (snapshot/signature.ts).
      const spec = res.KeySpec ?? res.CustomerMasterKeySpec;
      if (spec !== undefined && spec !== 'ECC_NIST_P256') throw new Error(`KMS GetPublicKey: key spec ${String(spec)} is not ECC_NIST_P256`);
      const b64 = Buffer.from(res.PublicKey).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
      return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`;
    },
  };
}

export async function createManifestSigner(config: Config, maxAttempts = 3): Promise<ManifestSigner> {
  const sdk = await loadSdk.kms();
  return manifestSigner(sdk, new sdk.KMSClient(clientOptions(config, maxAttempts)));
}
