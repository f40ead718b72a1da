/**
 * The record that `sync` leaves under STATE_DIR: who the authorized IAM users were at the
 * last complete read, and which local name and UID each has. `keys` reads it to map a local
 * name back to an IAM user without calling IAM, and to refuse unknown names for free.
 */
import { readFileSync } from 'node:fs';
import { isIamUserName, toLegacyName, toLocalName } from '../sync/names';
import { parseJsonObject } from './json';
import { statePath } from './paths';
import { isIamGroupName } from '../util/validators';

export interface StateUser {
  iamName: string;
  localName: string;
  uid: number | null;
  iamUserId: string;
  /** The IAM groups among `groupsRead` that the user belongs to (absent in older files). */
  groups?: string[];
}

export interface SyncState {
  version: 1;
  writtenAt: string;
  /** The authorization scope (see authScope) the member list was read under. */
  scope: string;
  users: StateUser[];
  /** The IAM groups whose membership this record knows (absent in older files). */
  groupsRead?: string[];
}

const isGroupList = (g: unknown): g is string[] => Array.isArray(g) && g.every((x) => typeof x === 'string' && isIamGroupName(x));

/** Where sync writes the record (sync/command.ts) and keys and notify-login read it. */
export function syncStatePath(stateDir: string): string {
  return statePath(stateDir, 'syncState');
}

/** Reads the state; null when absent, unreadable or not exactly well-formed. */
export function readSyncState(stateDir: string): SyncState | null {
  let text: string;
  try {
    text = readFileSync(syncStatePath(stateDir), 'utf8');
  } catch {
    return null;
  }
  const s = parseJsonObject(text);
  if (!s) return null;
  if (s.version !== 1 || typeof s.scope !== 'string' || typeof s.writtenAt !== 'string' || !Array.isArray(s.users)) return null;
  const users: StateUser[] = [];
  for (const u of s.users as unknown[]) {
    if (typeof u !== 'object' || u === null) return null;
    const { iamName, localName, uid, iamUserId, groups } = u as Record<string, unknown>;
    if (typeof iamName !== 'string' || !isIamUserName(iamName)) return null;
    // The local name must be the mapping of the IAM name, or aws-ec2-ssh's (case kept) for an account
    // sync adopted: a hand-edited file cannot alias users.
    if (localName !== toLocalName(iamName) && localName !== toLegacyName(iamName)) return null;
    if (uid !== null && !(typeof uid === 'number' && Number.isInteger(uid) && uid >= 0)) return null;
    if (typeof iamUserId !== 'string') return null;
    if (groups !== undefined && !isGroupList(groups)) return null;
    users.push({ iamName, localName, uid: uid as number | null, iamUserId, ...(groups ? { groups } : {}) });
  }
  if (s.groupsRead !== undefined && !isGroupList(s.groupsRead)) return null;
  return { version: 1, writtenAt: s.writtenAt, scope: s.scope, users, ...(s.groupsRead ? { groupsRead: s.groupsRead } : {}) };
}
