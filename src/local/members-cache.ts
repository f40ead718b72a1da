/**
 * Cache of the authorized IAM member list for `keys` on hosts where `sync` has not yet
 * recorded one: a burst of logins for unknown names then costs one IAM read per TTL, not one per login.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import { isIamUserName } from '../core/names';
import type { IamUserRef } from '../aws/iam';

export function readMembers(cacheDir: string, scope: string, now: number, ttlMs: number): IamUserRef[] | null {
  try {
    const raw = JSON.parse(readFileSync(join(cacheDir, 'members.json'), 'utf8')) as Record<string, unknown>;
    if (raw.version !== 1 || raw.scope !== scope || typeof raw.fetchedAt !== 'number') return null;
    const age = now - raw.fetchedAt;
    if (age < 0 || age >= ttlMs || !Array.isArray(raw.users)) return null;
    const users = raw.users as IamUserRef[];
    if (!users.every((u) => typeof u?.userName === 'string' && isIamUserName(u.userName) && typeof u.userId === 'string')) return null;
    return users;
  } catch {
    return null;
  }
}

export function writeMembers(cacheDir: string, scope: string, now: number, users: IamUserRef[]): void {
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(cacheDir, 'members.json'), JSON.stringify({ version: 1, scope, fetchedAt: now, users }) + '\n', 0o600);
}
