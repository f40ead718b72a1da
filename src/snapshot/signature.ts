/**
 * Verification of a manifest signature with node:crypto against the pinned public key: no
 * KMS call per read. Only an ECDSA P-256 key is accepted as the trust root.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';

export class TrustRootError extends Error {
  override name = 'TrustRootError';
}

/** Parses a PEM public key; anything but an EC key on P-256 is refused. */
export function parseTrustRoot(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new TrustRootError(`not a PEM public key: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TrustRootError('the public key is not an ECC_NIST_P256 (prime256v1) key');
  }
  return key;
}

/** ECDSA_SHA_256 over the exact bytes, DER-encoded signature as KMS returns it. */
export function verifyManifestSignature(bytes: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return verify('sha256', bytes, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
