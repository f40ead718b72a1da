/**
 * An instance's read of the access snapshot: a conditional GET of the manifest (304: nothing
 * to do, unless the snapshot held has grown too old), then the signature, the URL, the serial
 * floor, the age and the scope, and only then the body, its size, SHA-256 and format. Anything
 * that fails is a refusal with its reason: nothing of it is used.
 */
import type { Config } from '../config/config';
import type { ObjectStore } from '../aws/s3';
import { errText } from '../util/log';
import { readRegularFile } from '../util/regular-file';
import type { SnapshotState } from '../state/snapshot-state';
import type { AccessSnapshot, SnapshotManifest } from './format';
import { parseS3Url } from './s3-url';
import { parseTrustRoot } from './signature';
import { verifyBody, verifyManifestObject } from './verify';
import { refuseAge, refuseManifest } from './accept';

export type SnapshotFetch =
  | { kind: 'not-modified'; serial: number; generatedAt: string }
  | { kind: 'accepted'; snapshot: AccessSnapshot; manifest: SnapshotManifest; etag: string }
  /** Verification, age or scope failed: never applied. */
  | { kind: 'refused'; reason: string }
  /** S3 could not be read, or holds no snapshot. */
  | { kind: 'failed'; reason: string };

/** The pinned key: a regular file, root's and writable by no one else, since it decides who logs in. */
export function readTrustRoot(path: string | null) {
  if (!path) throw new Error('SNAPSHOT_URL is set but SNAPSHOT_PUBLIC_KEY (the pinned verification key) is not');
  const file = readRegularFile(path, 64 * 1024);
  if (!file) throw new Error(`SNAPSHOT_PUBLIC_KEY ${path} is not a readable regular file`);
  if (file.uid !== 0 || (file.mode & 0o022) !== 0) throw new Error(`SNAPSHOT_PUBLIC_KEY ${path} must be owned by root and writable by no one else`);
  return parseTrustRoot(file.text);
}

export async function fetchSnapshot(config: Config, store: ObjectStore, last: SnapshotState | null, now: () => number): Promise<SnapshotFetch> {
  const url = config.snapshotUrl!;
  let trust;
  try {
    trust = readTrustRoot(config.snapshotPublicKey);
  } catch (e) {
    return { kind: 'refused', reason: errText(e) };
  }
  const { bucket, key } = parseS3Url(url);
  const etag = last && last.url === url ? last.etag : null;
  let got;
  try {
    got = await store.get(bucket, key, { ifNoneMatch: etag ?? undefined, maxBytes: 64 * 1024 });
  } catch (e) {
    return { kind: 'failed', reason: `GetObject ${url}: ${errText(e)}` };
  }
  if (got.status === 'missing') return { kind: 'failed', reason: `no snapshot at ${url}` };
  if (got.status === 'not-modified') {
    // Only an ETag recorded with a snapshot is ever sent, so `last` is that snapshot.
    if (!last) return { kind: 'failed', reason: 'S3 answered 304 to an unconditional GET' };
    const stale = refuseAge(last.generatedAt, now(), config.snapshotMaxAgeMs);
    return stale ? { kind: 'refused', reason: stale } : { kind: 'not-modified', serial: last.serial, generatedAt: last.generatedAt };
  }
  let manifest: SnapshotManifest;
  try {
    manifest = verifyManifestObject(got.body, trust, url);
  } catch (e) {
    return { kind: 'refused', reason: errText(e) };
  }
  // The serial floor holds across URLs: serials are seconds since the epoch or more.
  const refusal = refuseManifest(manifest, last, now(), { authorizedGroups: config.authorizedGroups, assumeRole: config.assumeRole, maxAgeMs: config.snapshotMaxAgeMs });
  if (refusal) return { kind: 'refused', reason: refusal };
  let body;
  try {
    // Any size up to the store's bound is read: a wrong size is a refusal (verifyBody), not an outage.
    body = await store.get(bucket, manifest.object);
  } catch (e) {
    return { kind: 'failed', reason: `GetObject s3://${bucket}/${manifest.object}: ${errText(e)}` };
  }
  if (body.status !== 'ok') return { kind: 'refused', reason: `the body ${manifest.object} the manifest names is missing` };
  try {
    return { kind: 'accepted', snapshot: verifyBody(body.body, manifest), manifest, etag: got.etag };
  } catch (e) {
    return { kind: 'refused', reason: errText(e) };
  }
}
