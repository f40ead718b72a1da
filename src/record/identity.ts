/**
 * Who this session is, as far as the recorder can tell from inside it: the key sshd accepted
 * (ExposeAuthInfo's SSH_USER_AUTH file), the client (SSH_CONNECTION), the IAM user (sync's
 * registry), and the privileged sshd process whose "Accepted publickey" line vouches for all of
 * it (the parent of the sshd process that started us). Everything here is only a claim until
 * replay matches it with sshd's own journal line, written by root.
 */
import { readFileSync } from 'node:fs';
import { authInfoFingerprints } from '../notify/message';
import { parsePublicKey } from '../util/ssh-key';
import { Registry } from '../sync/registry';
import type { StartRecord } from './wire';

const SSHD_COMMS = new Set(['sshd', 'sshd-session']);

/** The first publickey of SSH_USER_AUTH: the key this login was accepted with. */
export function acceptedKey(authInfoFile: string | undefined): StartRecord['key'] {
  if (!authInfoFile) return null;
  let text: string;
  try {
    text = readFileSync(authInfoFile, 'utf8').slice(0, 65_536);
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => l.startsWith('publickey '));
  if (!line || authInfoFingerprints(line).length === 0) return null;
  const parsed = parsePublicKey(line.slice('publickey '.length));
  return parsed.ok ? { type: parsed.key.type, fp: parsed.key.fingerprint } : null;
}

/** SSH_CONNECTION is "client-addr client-port server-addr server-port". */
export function clientOf(sshConnection: string | undefined): StartRecord['client'] {
  const m = /^(\S{1,64}) (\d{1,5}) /.exec(sshConnection ?? '');
  return m ? { addr: m[1]!, port: Number(m[2]) } : null;
}

function procStat(pid: number): { comm: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const ppid = Number(text.slice(close + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? { comm, ppid } : null;
  } catch {
    return null;
  }
}

/**
 * The privileged sshd process of this login: sshd runs the forced command through the user's
 * shell (which normally execs it), from the session process whose parent logged the login.
 * Null when no sshd is found within those two steps (the recorder was run by hand).
 */
export function sshdMonitorPid(ppid: number): number | null {
  let pid = ppid;
  for (let hop = 0; hop < 2; hop++) {
    const st = procStat(pid);
    if (!st) return null;
    if (SSHD_COMMS.has(st.comm)) {
      const monitor = procStat(st.ppid);
      return monitor && SSHD_COMMS.has(monitor.comm) ? st.ppid : null;
    }
    pid = st.ppid;
  }
  return null;
}

/** The IAM user sync created or adopted this account for; null when it is not in the registry. */
export function iamUserOf(stateDir: string, user: string): string | null {
  try {
    const entries = new Registry(stateDir).all();
    return Object.hasOwn(entries, user) ? entries[user]!.iamName : null;
  } catch {
    return null;
  }
}
