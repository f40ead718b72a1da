/**
 * Cache of the authorized IAM member list for `keys` on hosts where `sync` has not yet
 * recorded one: a burst of logins for unknown names then costs one IAM read per TTL, not one per login.
 */
import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import { cachePath } from './paths';
import { parseJsonObject } from './json';
import { readRegularFile } from '../util/regular-file';
import { isIamUserName } from '../sync/names';
import type { IamUserRef } from '../aws/iam';

/** The cached member list and when it was read from IAM; null when absent, foreign or older than ttlMs. */
export function readMembers(cacheDir: string, scope: string, now: number, ttlMs: number): { fetchedAt: number; users: IamUserRef[] } | null {
  try {
    const file = readRegularFile(cachePath(cacheDir, 'members'));
    const raw = file && parseJsonObject(file.text);
    if (!raw || raw.version !== 1 || raw.scope !== scope || typeof raw.fetchedAt !== 'number') return null;
    const age = now - raw.fetchedAt;
    if (age < 0 || age >= ttlMs || !Array.isArray(raw.users)) return null;
    const users = raw.users as IamUserRef[];
    if (!users.every((u) => typeof u?.userName === 'string' && isIamUserName(u.userName) && typeof u.userId === 'string')) return null;
    return { fetchedAt: raw.fetchedAt, users };
  } catch {
    return null;
  }
}

export function writeMembers(cacheDir: string, scope: string, now: number, users: IamUserRef[]): void {
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(cachePath(cacheDir, 'members'), JSON.stringify({ version: 1, scope, fetchedAt: now, users }) + '\n', 0o600);
}
