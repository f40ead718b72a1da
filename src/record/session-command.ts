/**
 * The command a session without a terminal runs. sshd hands a forced command the subsystem's
 * command in SSH_ORIGINAL_COMMAND: for `Subsystem sftp internal-sftp` that is the word
 * `internal-sftp`, which only sshd itself can run, so the recorder runs the sftp-server program
 * sshd ships in its place (same protocol, as the user).
 */
import { existsSync } from 'node:fs';

/** Where distributions install sftp-server (Debian/Ubuntu, RHEL/Amazon Linux, Arch, Flatcar/others). */
export const SFTP_SERVER_PATHS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/lib/ssh/sftp-server', '/usr/libexec/sftp-server'];

/** Pure: the command to run for SSH_ORIGINAL_COMMAND, given which sftp-server exists. */
export function mapSessionCommand(original: string | null, sftpServer: string | null): string | null {
  if (original === null) return null;
  const m = /^\s*internal-sftp(\s.*)?$/.exec(original);
  if (!m) return original;
  return sftpServer ? `${sftpServer}${m[1] ?? ''}` : original;
}

export function sessionCommand(original: string | null): string | null {
  return mapSessionCommand(original, SFTP_SERVER_PATHS.find((p) => existsSync(p)) ?? null);
}
