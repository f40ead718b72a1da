/**
 * Records every local account command a run makes: wrappers with the tools' names in
 * /usr/local/sbin (first on sync's fixed PATH; a tmpfs inside the namespace) log their name,
 * then run the real tool. USERADD_PROGRAM and USERDEL_PROGRAM must point at the wrappers.
 */
import type { MountNamespace } from './namespace';

export const ACCOUNT_TOOLS = ['useradd', 'usermod', 'userdel', 'groupadd', 'gpasswd', 'pkill'] as const;
const LOG = '/run/iam-ssh-account-commands';

/** Installs the wrappers; returns the config lines that route useradd/userdel through them. */
export async function installAccountTripwire(ns: MountNamespace): Promise<Record<string, string>> {
  for (const tool of ACCOUNT_TOOLS) {
    const real = (await ns.must('sh', ['-c', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$1"', 'which', tool])).stdout.trim();
    // Fixed text; the only inserted values are the tool's name and its path, both ours.
    await ns.writeFile(`/usr/local/sbin/${tool}`, `#!/bin/sh\necho ${tool} >> ${LOG}\nexec ${real} "$@"\n`, '0755');
  }
  await ns.writeFile(LOG, '');
  return { USERADD_PROGRAM: '/usr/local/sbin/useradd', USERDEL_PROGRAM: '/usr/local/sbin/userdel' };
}

/** The account commands run since the last call, in order; clears the record. */
export async function takeAccountCommands(ns: MountNamespace): Promise<string[]> {
  const text = await ns.readFile(LOG);
  await ns.writeFile(LOG, '');
  return text.split('\n').filter(Boolean);
}
