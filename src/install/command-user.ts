/**
 * The system user sshd runs `keys` as. Not `nobody`: that account is shared with other
 * daemons, and the keys cache must be writable by this user alone.
 */
import { existsSync } from 'node:fs';
import type { InstallHost } from './host';
import { COMMAND_USER } from '../platform/sshd-config';

export { COMMAND_USER };

export async function commandUserIds(host: InstallHost): Promise<{ uid: number; gid: number } | null> {
  const r = await host.query('getent', ['passwd', COMMAND_USER]);
  if (r.exitCode !== 0) return null;
  const f = r.stdout.trim().split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Creates the locked system user when missing; true when it was created. */
export async function ensureCommandUser(host: InstallHost): Promise<boolean> {
  if (await commandUserIds(host)) return false;
  const nologin = ['/usr/sbin/nologin', '/sbin/nologin'].find((p) => existsSync(p)) ?? '/bin/false';
  // useradd --system leaves the password locked ('!'): nobody can log in as this user.
  await host.run('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', nologin, '--comment', 'iam-ssh AuthorizedKeysCommand', '--', COMMAND_USER], `create the locked system user ${COMMAND_USER}`);
  return true;
}
