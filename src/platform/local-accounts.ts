/**
 * The local account database as the login path reads it: /etc/passwd and /etc/group, parsed
 * directly (no `getent` process per login). Accounts iam-ssh creates are always local files
 * entries, so other NSS sources (LDAP, sssd, userdb) never make an account ours.
 */
import { readFileSync } from 'node:fs';

const PASSWD = '/etc/passwd';
const GROUP = '/etc/group';
/** A passwd or group file far larger than this is not one a host really has. */
const MAX_BYTES = 16 << 20;

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function lines(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  if (text.length > MAX_BYTES) throw new Error(`${file} is larger than ${MAX_BYTES} bytes`);
  return text.split('\n');
}

/** The passwd entry of `name`, or null when there is none. */
export function readPasswdEntry(name: string, file = PASSWD): PasswdEntry | null {
  for (const line of lines(file)) {
    const f = line.split(':');
    if (f[0] !== name || f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    return Number.isInteger(uid) && Number.isInteger(gid) && f[2] !== '' && f[3] !== '' ? { name, uid, gid } : null;
  }
  return null;
}

/** The member list of `group` in the group file; null when the group is not there. */
export function readGroupMembers(group: string, file = GROUP): string[] | null {
  for (const line of lines(file)) {
    const f = line.split(':');
    if (f[0] === group && f.length >= 4) return f[3]!.split(',').filter((m) => m !== '');
  }
  return null;
}
