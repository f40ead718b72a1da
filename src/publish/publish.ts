/**
 * `publish`: read IAM once, as sync does, and write the signed access snapshot to S3: the body
 * under a new key, then the signed manifest at SNAPSHOT_URL, which is what instances read. The
 * last snapshot is verified before anything of it is reused (its serial, its key bodies, its
 * users for the removal guard); an incomplete read or a refused one writes nothing.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/config';
import type { Logger } from '../util/log';
import { errText } from '../util/log';
import { createIamDirectory, type IamDirectory } from '../aws/iam';
import { createObjectStore, type ObjectStore } from '../aws/s3';
import { createManifestSigner, type ManifestSigner } from '../aws/kms';
import { callStats, type CallStats } from '../aws/call-stats';
import { encodeManifest, encodeSignedManifest, encodeSnapshot, MANIFEST_FORMAT, SNAPSHOT_FORMAT, decodeManifest, decodeSignedManifest, type AccessSnapshot, type SnapshotManifest } from '../snapshot/format';
import { bodyKey, parseS3Url } from '../snapshot/s3-url';
import { parseTrustRoot } from '../snapshot/signature';
import { sha256Hex, verifyBody, verifyManifestObject } from '../snapshot/verify';
import { parsePublicKey } from '../util/ssh-key';
import type { CachedKey } from '../keys/cache-entry';
import { makeScope, readAccess } from './read-access';
import { decidePublish } from './decide';
import { accountOf } from './account';

export interface PublishDeps {
  iam: IamDirectory;
  store: ObjectStore;
  signer: ManifestSigner;
  log: Logger;
  /** The AWS account IAM is read in (STS), or null when unknown. */
  account?: () => Promise<string | null>;
  /** Publish even past MAX_REMOVALS, an empty read, or a current manifest that does not verify. */
  force?: boolean;
  now?: () => number;
  /** The STS calls behind `account`, counted with the rest. */
  stsCalls?: Record<string, number>;
}

export interface PublishOutcome {
  status: 'published' | 'unchanged' | 'refused' | 'failed';
  /** A new snapshot was written. */
  changed: boolean;
  /** The serial now at SNAPSHOT_URL (the new one, or the last one when nothing was written). */
  serial: number | null;
  users: number;
  /** Users of the last snapshot that the new read no longer authorizes. */
  removed: string[];
  reason?: string;
  /** The body's object key, when one was written. */
  object?: string;
  calls: CallStats;
  durationMs: number;
}

interface Previous {
  manifest: SnapshotManifest;
  snapshot: AccessSnapshot;
}

export async function publishSnapshot(config: Config, deps: PublishDeps): Promise<PublishOutcome> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { log } = deps;
  const calls = () => callStats({ iam: deps.iam.calls, s3: deps.store.calls, kms: deps.signer.calls, sts: deps.stsCalls });
  const outcome = (o: Omit<PublishOutcome, 'calls' | 'durationMs'>): PublishOutcome => {
    const out = { ...o, calls: calls(), durationMs: now() - started };
    const level = o.status === 'published' || o.status === 'unchanged' ? 'info' : 'error';
    log.log(level, o.status === 'published' ? 'publish.done' : o.status === 'unchanged' ? 'publish.unchanged' : o.status === 'refused' ? 'publish.refused' : 'publish.failed', { url: config.snapshotUrl, ...out });
    return out;
  };
  if (!config.snapshotUrl || !config.snapshotKmsKey) {
    return outcome({ status: 'failed', changed: false, serial: null, users: 0, removed: [], reason: 'publish needs SNAPSHOT_URL and SNAPSHOT_KMS_KEY' });
  }
  const url = config.snapshotUrl;
  const { bucket, key } = parseS3Url(url);

  // 1. The current snapshot, verified: its serial is the floor, its bodies may be reused.
  let previous: Previous | null = null;
  let previousSerial = 0;
  try {
    const current = await deps.store.get(bucket, key);
    if (current.status === 'ok') {
      try {
        previous = await readPrevious(config, deps, current.body, url, bucket);
        previousSerial = previous.manifest.serial;
      } catch (e) {
        if (!deps.force) return outcome({ status: 'refused', changed: false, serial: null, users: 0, removed: [], reason: `the snapshot now at ${url} does not verify (${errText(e)}); publish --force replaces it` });
        previousSerial = serialOf(current.body);
        log.log('warn', 'publish.replacing_unverified', { url, error: errText(e) });
      }
    }
  } catch (e) {
    return outcome({ status: 'failed', changed: false, serial: null, users: 0, removed: [], reason: `reading the current snapshot failed: ${errText(e)}` });
  }

  // 2. IAM, with sync's guards: anything incomplete publishes nothing.
  const known = new Map<string, CachedKey[]>();
  for (const u of previous?.snapshot.users ?? []) known.set(u.id, u.keys.map(cachedKey));
  let read;
  let account: string | null;
  try {
    [read, account] = await Promise.all([readAccess(deps.iam, config, known, log), deps.account ? deps.account() : Promise.resolve(null)]);
  } catch (e) {
    return outcome({ status: 'failed', changed: false, serial: previous?.manifest.serial ?? null, users: 0, removed: [], reason: `IAM read failed: ${errText(e)}` });
  }
  if (!read.complete) {
    return outcome({ status: 'failed', changed: false, serial: previous?.manifest.serial ?? null, users: 0, removed: [], reason: `IAM read incomplete: ${Object.entries(read.errors).map(([g, err]) => `${g}: ${err}`).join('; ')}` });
  }
  const next = { scope: makeScope(config, read.groups, account), users: read.users };

  // 3. The guards, then the body and the signed manifest, in that order.
  const decision = decidePublish(previous?.snapshot ?? null, next, now(), { maxRemovals: config.maxRemovals, force: deps.force ?? false, maxAgeMs: config.snapshotMaxAgeMs });
  if (decision.kind === 'refused') return outcome({ status: 'refused', changed: false, serial: previousSerial || null, users: next.users.length, removed: decision.removed, reason: decision.reason });
  if (decision.kind === 'unchanged') return outcome({ status: 'unchanged', changed: false, serial: previousSerial, users: next.users.length, removed: [] });

  // Seconds since the epoch, or one more than the last: increasing even if the bucket is emptied.
  const serial = Math.max(previousSerial + 1, Math.floor(now() / 1000));
  const generatedAt = new Date(now()).toISOString();
  const snapshot: AccessSnapshot = { format: SNAPSHOT_FORMAT, version: 1, serial, generatedAt, ...next };
  const body = Buffer.from(encodeSnapshot(snapshot));
  const sha256 = sha256Hex(body);
  const object = bodyKey(key, serial, sha256);
  const manifest: SnapshotManifest = { format: MANIFEST_FORMAT, version: 1, url, object, sha256, size: body.length, serial, generatedAt, scope: next.scope };
  const manifestBytes = Buffer.from(encodeManifest(manifest));
  try {
    await deps.store.put(bucket, object, body.toString('utf8'), 'application/json');
    const signed = await deps.signer.sign(config.snapshotKmsKey, manifestBytes);
    await deps.store.put(bucket, key, encodeSignedManifest(manifestBytes, signed.signature, signed.keyId), 'application/json');
  } catch (e) {
    return outcome({ status: 'failed', changed: false, serial: previousSerial || null, users: next.users.length, removed: [], reason: `writing the snapshot failed: ${errText(e)}` });
  }
  return outcome({ status: 'published', changed: true, serial, users: next.users.length, removed: decision.removed, object, reason: decision.reason });
}

async function readPrevious(config: Config, deps: PublishDeps, object: Buffer, url: string, bucket: string): Promise<Previous> {
  const pem = config.snapshotPublicKey ? readFileSync(config.snapshotPublicKey, 'utf8') : await deps.signer.publicKeyPem(config.snapshotKmsKey!);
  const manifest = verifyManifestObject(object, parseTrustRoot(pem), url);
  const body = await deps.store.get(bucket, manifest.object);
  if (body.status !== 'ok') throw new Error(`the body ${manifest.object} the manifest names is missing`);
  return { manifest, snapshot: verifyBody(body.body, manifest) };
}

/** With --force over a manifest that does not verify: its serial still bounds the new one, if it has one. */
function serialOf(object: Buffer): number {
  try {
    return decodeManifest(decodeSignedManifest(object.toString('utf8')).manifestBytes).serial;
  } catch {
    return 0;
  }
}

function cachedKey(k: { id: string; key: string }): CachedKey {
  const parsed = parsePublicKey(k.key);
  return { id: k.id, line: k.key, fingerprint: parsed.ok ? parsed.key.fingerprint : '' };
}

/** The real clients, built from the Config: IAM (with ASSUMEROLE), S3, KMS and STS for the account. */
export async function createPublishDeps(config: Config, log: Logger, opts: { force?: boolean } = {}): Promise<PublishDeps> {
  const [iam, store, signer] = await Promise.all([createIamDirectory(config, config.stateDir, { maxAttempts: 3 }), createObjectStore(config), createManifestSigner(config)]);
  const stsCalls: Record<string, number> = {};
  return { iam, store, signer, log, force: opts.force ?? false, stsCalls, account: () => accountOf(config, stsCalls) };
}
