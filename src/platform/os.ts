/** Facts about the operating system that decide where install puts things. */
import { accessSync, constants, readFileSync } from 'node:fs';

/** A PATH that does not depend on how cron or systemd started us (aws-ec2-ssh #111/#69). */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin';

/** ID and ID_LIKE of /etc/os-release, lower case. */
export function osIds(text?: string): string[] {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync('/etc/os-release', 'utf8');
    } catch {
      return [];
    }
  }
  const ids: string[] = [];
  for (const line of t.split('\n')) {
    const m = /^(ID|ID_LIKE)=["']?([^"'\n]*)["']?$/.exec(line.trim());
    if (m) ids.push(...m[2]!.toLowerCase().split(/\s+/).filter(Boolean));
  }
  return ids;
}

/** Flatcar and CoreOS mount /usr read-only; their place for added binaries is /opt/bin. */
function usrIsReadOnly(): boolean {
  try {
    accessSync('/usr', constants.W_OK);
    return false;
  } catch {
    return true;
  }
}

export function defaultBinaryPath(ids = osIds(), readOnlyUsr = usrIsReadOnly()): string {
  const immutable = ids.some((id) => id === 'flatcar' || id === 'coreos' || id === 'fedora-coreos');
  return immutable || readOnlyUsr ? '/opt/bin/iam-ssh' : '/usr/local/bin/iam-ssh';
}
