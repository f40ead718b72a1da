/**
 * Which local accounts `keys` may answer for: only one that sync created or adopted. The local
 * account must exist in /etc/passwd, have a registry entry (STATE_DIR, written by root) with
 * the same UID, and be a member of the marker group. Whatever IAM says and whatever state the
 * sync record is in, every other account (ubuntu, ec2-user, admin, service accounts) gets no keys.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config';
import { readGroupMembers, readPasswdEntry } from '../platform/local-accounts';
import { Registry } from '../sync/registry';
import { isValidLocalName } from '../sync/names';

export interface ManagedAccount {
  localName: string;
  uid: number;
  iamName: string;
  iamUserId: string;
}

export type ManagedCheck = { ok: true; account: ManagedAccount } | { ok: false; reason: string };

export function checkManagedAccount(user: string, config: Config): ManagedCheck {
  const passwd = readPasswdEntry(user);
  if (!passwd) return { ok: false, reason: 'no local account of that name' };
  let entry;
  try {
    const all = new Registry(config.stateDir).all();
    entry = Object.hasOwn(all, user) ? all[user] : undefined;
  } catch (e) {
    return { ok: false, reason: `the registry of managed accounts cannot be read: ${(e as Error).message}` };
  }
  // A name iam-ssh would not make is answered for only when adopted under exactly that name.
  if (!entry || (!isValidLocalName(user) && entry.adopted !== true)) return { ok: false, reason: 'not an account iam-ssh created or adopted' };
  if (entry.uid !== passwd.uid) return { ok: false, reason: `the account's uid ${passwd.uid} is not the registered ${entry.uid}` };
  const marker = config.localMarkerGroup;
  const inMarker = (readGroupMembers(marker) ?? []).includes(user) || existsSync(join(config.userdbDir, `${user}:${marker}.membership`));
  if (!inMarker) return { ok: false, reason: `not a member of the marker group ${marker}` };
  return { ok: true, account: { localName: user, uid: passwd.uid, iamName: entry.iamName, iamUserId: entry.iamUserId } };
}
