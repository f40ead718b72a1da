/** A valid snapshot and manifest, signed with a throwaway P-256 key, for the pure checks. */
import { generateKeyPairSync, sign } from 'node:crypto';
import { generateSshKey } from '../../helpers/ssh-wire';
import { encodeManifest, encodeSignedManifest, encodeSnapshot, MANIFEST_FORMAT, SNAPSHOT_FORMAT, type AccessSnapshot, type SnapshotManifest } from '../../../src/snapshot/format';
import { bodyKey } from '../../../src/snapshot/s3-url';
import { sha256Hex } from '../../../src/snapshot/verify';

export const URL = 's3://fleet-access/prod/access.json';
export const KEY = 'prod/access.json';

export function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, publicKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export const KEYS = [generateSshKey('ed25519').line, generateSshKey('ecdsa-p256').line];

export function snapshot(serial = 1_700_000_000, generatedAt = '2026-01-01T00:00:00.000Z'): AccessSnapshot {
  return {
    format: SNAPSHOT_FORMAT, version: 1, serial, generatedAt,
    scope: { groups: ['ssh-admins', 'ssh-users'], allUsers: false, authorizedGroups: ['ssh-users'], account: '123456789012', role: null },
    users: [
      { name: 'alice', id: 'AIDAALICE0000000000', groups: ['ssh-admins', 'ssh-users'], keys: [{ id: 'APKAALICE00000000001', key: KEYS[0]! }] },
      { name: 'bob', id: 'AIDABOB000000000000', groups: ['ssh-users'], keys: [{ id: 'APKABOB000000000001', key: KEYS[1]! }] },
    ],
  };
}

export function signed(s: AccessSnapshot, privateKey: ReturnType<typeof keyPair>['privateKey'], url = URL) {
  const body = Buffer.from(encodeSnapshot(s));
  const sha256 = sha256Hex(body);
  const manifest: SnapshotManifest = {
    format: MANIFEST_FORMAT, version: 1, url, object: bodyKey(url.replace(/^s3:\/\/[^/]+\//, ''), s.serial, sha256), sha256,
    size: body.length, serial: s.serial, generatedAt: s.generatedAt, scope: s.scope,
  };
  const bytes = Buffer.from(encodeManifest(manifest));
  const signature = sign('sha256', bytes, { key: privateKey, dsaEncoding: 'der' });
  return { body, manifest, object: Buffer.from(encodeSignedManifest(bytes, signature, 'arn:aws:kms:us-east-1:123456789012:key/test')) };
}
