/**
 * The checks a manifest and a body pass before anything in them is used: the signature
 * against the pinned key, the URL the manifest was published for, the body's object key, size
 * and SHA-256, then the body's own format, serial and scope. The publisher checks its previous
 * snapshot with the same functions before reusing anything from it.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { decodeManifest, decodeSignedManifest, decodeSnapshot, SnapshotFormatError, type AccessSnapshot, type SnapshotManifest } from './format';
import { verifyManifestSignature } from './signature';
import { isExpectedBodyKey, parseS3Url } from './s3-url';

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The manifest at `url`, verified; throws SnapshotFormatError naming what failed. */
export function verifyManifestObject(object: Buffer, key: KeyObject, url: string): SnapshotManifest {
  const text = object.toString('utf8');
  const signed = decodeSignedManifest(text);
  if (!verifyManifestSignature(signed.manifestBytes, signed.signature, key)) {
    throw new SnapshotFormatError('the manifest signature does not verify with the pinned public key');
  }
  const manifest = decodeManifest(signed.manifestBytes);
  if (manifest.url !== url) throw new SnapshotFormatError(`the manifest was published for ${manifest.url}, not ${url}`);
  const { key: manifestKey } = parseS3Url(url);
  if (!isExpectedBodyKey(manifestKey, manifest.object, manifest.serial, manifest.sha256)) {
    throw new SnapshotFormatError(`the manifest names object ${manifest.object}, not the body of serial ${manifest.serial} under ${manifestKey}.d/`);
  }
  return manifest;
}

/** The body the manifest names, verified; throws SnapshotFormatError naming what failed. */
export function verifyBody(body: Buffer, manifest: SnapshotManifest): AccessSnapshot {
  if (body.length !== manifest.size) throw new SnapshotFormatError(`the body has ${body.length} bytes, the manifest signs ${manifest.size}`);
  const sha = sha256Hex(body);
  if (sha !== manifest.sha256) throw new SnapshotFormatError(`the body's SHA-256 ${sha} is not the signed ${manifest.sha256}`);
  return decodeSnapshot(body.toString('utf8'), manifest);
}
