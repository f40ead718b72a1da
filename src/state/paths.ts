/**
 * Every file iam-ssh keeps under STATE_DIR (root's, readable by the command user) and
 * CACHE_DIR (the command user's), named here and nowhere else.
 */
import { join } from 'node:path';

/** Files under STATE_DIR, written by root. */
const STATE_FILES = {
  /** sync's record of the authorized members and their local names (state/sync-state.ts). */
  syncState: 'users.json',
  /** The outcome of the last applied sync, for doctor (state/last-sync.ts). */
  lastSync: 'last-sync.json',
  /** The accounts sync created or adopted (sync/registry.ts). */
  registry: 'registry.json',
  /** What install added, so that uninstall removes only that (install/manifest.ts). */
  installManifest: 'install.json',
  /** The last good SSM and tag layers (state/remote-config.ts). */
  remoteConfig: 'remote-config.json',
  /** One sync at a time (state/run-lock.ts). */
  runLock: 'sync.lock',
  /** This instance's id and region, per boot (platform/imds.ts). */
  instanceIdentity: 'instance.json',
  /** The last access snapshot sync accepted: serial, hash, ETag (state/snapshot-state.ts). */
  snapshotState: 'snapshot.json',
  /** The directory where install keeps aws-ec2-ssh's cron file, moved aside (install/legacy.ts). */
  legacyCronDir: 'aws-ec2-ssh',
} as const;

/** Files under CACHE_DIR, written by the command user. */
const CACHE_FILES = {
  /** The authorized member list when sync has recorded none (state/members.ts). */
  members: 'members.json',
  /** One keys cache entry and one refresh lock per local user (keys/cache.ts). */
  keysDir: 'keys',
} as const;

/** Temporary role credentials, under CACHE_DIR for keys and STATE_DIR for sync (aws/assume-role.ts). */
export const ROLE_CREDENTIALS_FILE = 'role-credentials.json';

export function statePath(stateDir: string, file: keyof typeof STATE_FILES): string {
  return join(stateDir, STATE_FILES[file]);
}

export function cachePath(cacheDir: string, file: keyof typeof CACHE_FILES): string {
  return join(cacheDir, CACHE_FILES[file]);
}

/** The keys cache entry of a local user; `user` must already be a valid local name. */
export function keysEntryName(user: string): string {
  return `${user}.json`;
}

export function keysLockName(user: string): string {
  return `${user}.lock`;
}
