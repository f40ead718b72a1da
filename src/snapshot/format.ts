/**
 * The access snapshot and its manifest: their shapes, the canonical bytes that are hashed and
 * signed, and strict decoders. A document that does not decode into exactly these shapes is
 * refused as a whole, never used in part. Pure.
 */
import { parseJsonObject } from '../state/json';
import { isIamGroupName, isIamKeyId, isIamUserName } from '../util/validators';
import { parsePublicKey } from '../util/ssh-key';
import { canonicalJson } from './canonical-json';

export const SNAPSHOT_FORMAT = 'iam-ssh-access-snapshot';
export const MANIFEST_FORMAT = 'iam-ssh-snapshot-manifest';
export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';

/** Whose access the snapshot describes: the groups read (or every IAM user), and from where. */
export interface SnapshotScope {
  /** Every IAM group whose members were read, sorted. */
  groups: string[];
  /** IAM_AUTHORIZED_GROUPS was empty: every IAM user is authorized (ListUsers). */
  allUsers: boolean;
  /** The IAM groups whose members are authorized, sorted; [] with allUsers. */
  authorizedGroups: string[];
  /** The AWS account IAM was read in, when known. */
  account: string | null;
  /** ASSUMEROLE of the publisher, when IAM was read through it. */
  role: string | null;
}

export interface SnapshotKey {
  /** IAM SSHPublicKeyId */
  id: string;
  /** The validated key line (type, base64 blob, no options). */
  key: string;
}

export interface SnapshotUser {
  name: string;
  /** IAM's unique user id (AIDA…): the identity UIDs and the cache follow. */
  id: string;
  /** The scope's groups the user is a member of, sorted. */
  groups: string[];
  keys: SnapshotKey[];
}

export interface AccessSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: 1;
  serial: number;
  /** ISO time of the IAM read. */
  generatedAt: string;
  scope: SnapshotScope;
  /** The authorized users, sorted by name. */
  users: SnapshotUser[];
}

/** What the signature covers: enough to decide, before the body is fetched, whether to fetch it. */
export interface SnapshotManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  /** The SNAPSHOT_URL the manifest was published at: a manifest copied elsewhere is refused. */
  url: string;
  /** The body's object key in the same bucket. */
  object: string;
  sha256: string;
  size: number;
  serial: number;
  generatedAt: string;
  scope: SnapshotScope;
}

/** The object at SNAPSHOT_URL: the manifest's exact bytes and their signature, both base64. */
export interface SignedManifest {
  manifest: string;
  signature: string;
  algorithm: typeof SIGNING_ALGORITHM;
  /** The KMS key that signed, as KMS named it (informational: verification uses the pinned key). */
  keyId: string;
}

/** Refused input: the reason is logged, nothing is used. */
export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

const fail = (msg: string): never => {
  throw new SnapshotFormatError(msg);
};

const SHA256_HEX = /^[0-9a-f]{64}$/;
const ACCOUNT = /^\d{12}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** The largest serial a JSON number carries exactly. */
const MAX_SERIAL = Number.MAX_SAFE_INTEGER;

export const isSerial = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_SERIAL;
const isIsoTime = (s: unknown): s is string => typeof s === 'string' && s.length <= 40 && !Number.isNaN(Date.parse(s));

export function encodeSnapshot(s: AccessSnapshot): string {
  return canonicalJson(s);
}

export function encodeManifest(m: SnapshotManifest): string {
  return canonicalJson(m);
}

/** The parts of a snapshot that decide access: equal parts mean nothing to publish. */
export function accessContent(s: Pick<AccessSnapshot, 'scope' | 'users'>): string {
  return canonicalJson({ scope: s.scope, users: s.users });
}

function sortedStrings(value: unknown, what: string, valid: (s: string) => boolean): string[] {
  if (!Array.isArray(value)) return fail(`${what} is not a list`);
  const out: string[] = [];
  for (const v of value) {
    if (typeof v !== 'string' || !valid(v)) return fail(`${what} holds an invalid name`);
    if (out.length && out[out.length - 1]! >= v) return fail(`${what} is not sorted and unique`);
    out.push(v);
  }
  return out;
}

export function decodeScope(value: unknown): SnapshotScope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('scope is not an object');
  const r = value as Record<string, unknown>;
  const groups = sortedStrings(r.groups, 'scope.groups', isIamGroupName);
  const authorizedGroups = sortedStrings(r.authorizedGroups, 'scope.authorizedGroups', isIamGroupName);
  if (typeof r.allUsers !== 'boolean') return fail('scope.allUsers is not a boolean');
  if (r.allUsers !== (authorizedGroups.length === 0)) return fail('scope.allUsers contradicts scope.authorizedGroups');
  if (authorizedGroups.some((g) => !groups.includes(g))) return fail('scope.authorizedGroups are not all in scope.groups');
  if (r.account !== null && (typeof r.account !== 'string' || !ACCOUNT.test(r.account))) return fail('scope.account is not an account id');
  if (r.role !== null && (typeof r.role !== 'string' || !r.role.startsWith('arn:') || r.role.length > 2048)) return fail('scope.role is not a role ARN');
  return { groups, allUsers: r.allUsers, authorizedGroups, account: r.account as string | null, role: r.role as string | null };
}

function decodeUser(value: unknown, scope: SnapshotScope): SnapshotUser {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('a user is not an object');
  const r = value as Record<string, unknown>;
  if (typeof r.name !== 'string' || !isIamUserName(r.name)) return fail('a user has an invalid name');
  if (typeof r.id !== 'string' || !/^[A-Za-z0-9]{1,128}$/.test(r.id)) return fail(`user ${r.name} has an invalid id`);
  const groups = sortedStrings(r.groups, `groups of ${r.name}`, (g) => scope.groups.includes(g));
  if (!scope.allUsers && !groups.some((g) => scope.authorizedGroups.includes(g))) return fail(`user ${r.name} is in no authorized group`);
  if (!Array.isArray(r.keys)) return fail(`keys of ${r.name} is not a list`);
  const keys = r.keys.map((k): SnapshotKey => {
    if (typeof k !== 'object' || k === null) return fail(`a key of ${r.name} is not an object`);
    const { id, key } = k as Record<string, unknown>;
    if (typeof id !== 'string' || !isIamKeyId(id)) return fail(`a key of ${r.name} has an invalid id`);
    if (typeof key !== 'string') return fail(`key ${id} of ${r.name} has no body`);
    const parsed = parsePublicKey(key);
    if (!parsed.ok || parsed.key.line !== key) return fail(`key ${id} of ${r.name} is not a valid public key line`);
    return { id, key };
  });
  return { name: r.name, id: r.id, groups, keys };
}

/** Decodes a snapshot body; its serial and scope must be the manifest's. */
export function decodeSnapshot(text: string, manifest: SnapshotManifest): AccessSnapshot {
  const r = parseJsonObject(text) ?? fail('the snapshot is not a JSON object');
  if (r.format !== SNAPSHOT_FORMAT || r.version !== 1) return fail('the snapshot has an unknown format or version');
  if (r.serial !== manifest.serial) return fail(`the snapshot's serial ${String(r.serial)} is not the manifest's ${manifest.serial}`);
  if (r.generatedAt !== manifest.generatedAt) return fail("the snapshot's time is not the manifest's");
  const scope = decodeScope(r.scope);
  if (canonicalJson(scope) !== canonicalJson(manifest.scope)) return fail("the snapshot's scope is not the manifest's");
  if (!Array.isArray(r.users)) return fail('users is not a list');
  const users = r.users.map((u) => decodeUser(u, scope));
  for (let i = 1; i < users.length; i++) if (users[i - 1]!.name >= users[i]!.name) return fail('users are not sorted and unique by name');
  if (new Set(users.map((u) => u.id)).size !== users.length) return fail('two users have the same id');
  return { format: SNAPSHOT_FORMAT, version: 1, serial: manifest.serial, generatedAt: manifest.generatedAt, scope, users };
}

/** Decodes the object at SNAPSHOT_URL into the signed bytes and the signature; nothing is trusted yet. */
export function decodeSignedManifest(text: string): { manifestBytes: Buffer; signature: Buffer; keyId: string } {
  const r = parseJsonObject(text) ?? fail('the manifest object is not a JSON object');
  if (r.algorithm !== SIGNING_ALGORITHM) return fail('the manifest is not signed with ECDSA_SHA_256');
  if (typeof r.manifest !== 'string' || !BASE64.test(r.manifest) || r.manifest.length > 65_536) return fail('the manifest bytes are missing');
  if (typeof r.signature !== 'string' || !BASE64.test(r.signature) || r.signature.length > 512) return fail('the signature is missing');
  return { manifestBytes: Buffer.from(r.manifest, 'base64'), signature: Buffer.from(r.signature, 'base64'), keyId: typeof r.keyId === 'string' ? r.keyId.slice(0, 2048) : '' };
}

/** Decodes the signed manifest bytes; call only after the signature verified. */
export function decodeManifest(bytes: Buffer): SnapshotManifest {
  const r = parseJsonObject(bytes.toString('utf8')) ?? fail('the manifest is not a JSON object');
  if (r.format !== MANIFEST_FORMAT || r.version !== 1) return fail('the manifest has an unknown format or version');
  if (typeof r.url !== 'string' || !r.url.startsWith('s3://')) return fail('the manifest names no s3:// URL');
  if (typeof r.object !== 'string' || r.object.length === 0 || r.object.length > 1024) return fail('the manifest names no object');
  if (typeof r.sha256 !== 'string' || !SHA256_HEX.test(r.sha256)) return fail('the manifest has no SHA-256');
  if (typeof r.size !== 'number' || !Number.isInteger(r.size) || r.size < 0) return fail('the manifest has no size');
  if (!isSerial(r.serial)) return fail('the manifest has no valid serial');
  if (!isIsoTime(r.generatedAt)) return fail('the manifest has no valid time');
  return { format: MANIFEST_FORMAT, version: 1, url: r.url, object: r.object, sha256: r.sha256, size: r.size, serial: r.serial, generatedAt: r.generatedAt, scope: decodeScope(r.scope) };
}

export function encodeSignedManifest(manifestBytes: Buffer, signature: Buffer, keyId: string): string {
  const doc: SignedManifest = { manifest: manifestBytes.toString('base64'), signature: signature.toString('base64'), algorithm: SIGNING_ALGORITHM, keyId };
  return JSON.stringify(doc) + '\n';
}
