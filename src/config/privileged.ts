/**
 * Groups whose members hold root, or can read what root guards. Synced users join them only
 * when the local file names them in ALLOW_PRIVILEGED_GROUPS, and never because of SSM
 * (./layers.ts). Beside this fixed list: SUDO_LOCAL_GROUP, and every group a `%group` in the
 * host's sudoers names (read at sync time by ./host-sudoers.ts from what sudoersReferences finds).
 */

/** Group -> why it is privileged. */
export const PRIVILEGED_GROUPS: ReadonlyMap<string, string> = new Map([
  ['root', 'group 0 owns system files'],
  ['wheel', 'sudo or su on most distributions'],
  ['sudo', 'sudo on Debian and Ubuntu'],
  ['admin', 'sudo on older Ubuntu'],
  ['adm', 'reads the system logs'],
  ['systemd-journal', 'reads the whole journal'],
  ['shadow', 'reads password hashes'],
  ['disk', 'writes block devices'],
  ['kmem', 'reads kernel memory'],
  ['docker', 'root through the Docker socket'],
  ['lxd', 'root through the LXD socket'],
  ['incus-admin', 'root through the Incus socket'],
  ['libvirt', 'root through libvirt'],
  ['kvm', 'runs virtual machines on /dev/kvm'],
  ['staff', "writes /usr/local on Debian, which is on root's PATH"],
]);

export interface SudoersReferences {
  /** Group names after a `%` anywhere in a rule, alias or Defaults line (more is stricter, never looser). */
  groups: string[];
  /** `#include`/`@include` (dir false) and `#includedir`/`@includedir` (dir true), paths as written. */
  includes: { path: string; dir: boolean }[];
}

const INCLUDE = /^[#@]include(dir)?\s+(?:"([^"]+)"|(\S+))\s*$/;
/** `%name` where a user, runas or alias list can hold one; `%#gid` and `%:non-unix` are left out. */
const GROUP_REF = /(?:^|[\s,(!=:])%([A-Za-z_][A-Za-z0-9_.-]*)/g;

/** The groups and includes of one sudoers text (sudoers(5): `\` continues a line, `#` comments). */
export function sudoersReferences(text: string): SudoersReferences {
  const groups = new Set<string>();
  const includes: SudoersReferences['includes'] = [];
  for (const logical of text.replace(/\\\r?\n/g, ' ').split('\n')) {
    const line = logical.trim();
    const inc = INCLUDE.exec(line);
    if (inc) {
      includes.push({ path: inc[2] ?? inc[3]!, dir: inc[1] !== undefined });
      continue;
    }
    // `#` starts a comment, except in `%#gid`/`#uid` forms (a `#` followed by a digit).
    const code = line.replace(/(^|\s)#(?!\d).*$/, '');
    for (const m of code.matchAll(GROUP_REF)) groups.add(m[1]!);
  }
  return { groups: [...groups], includes };
}
