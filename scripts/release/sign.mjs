// The detached OpenPGP signature of SHA256SUMS, made with gpg from a key in the environment:
// IAM_SSH_SIGNING_KEY holds the ASCII-armored secret key, IAM_SSH_SIGNING_KEY_PASSPHRASE its
// passphrase if it has one. The key lives only in a temporary keyring that is removed after.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SIGNATURE = 'SHA256SUMS.asc';
export const PUBLIC_KEY = 'release-key.asc';

/** Signs outDir/SHA256SUMS; returns the files written, or null when no key is set. */
export function signSums(outDir, env = process.env) {
  const secret = env.IAM_SSH_SIGNING_KEY;
  if (!secret) return null;
  const home = mkdtempSync(join(tmpdir(), 'iam-ssh-sign-'));
  const gpg = (args, input) =>
    execFileSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--quiet', ...args], { input, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GNUPGHOME: home } });
  try {
    gpg(['--import'], secret);
    const pass = env.IAM_SSH_SIGNING_KEY_PASSPHRASE ?? '';
    gpg(['--pinentry-mode', 'loopback', '--passphrase-fd', '0', '--armor', '--detach-sign', '--output', join(outDir, SIGNATURE), join(outDir, 'SHA256SUMS')], pass);
    writeFileSync(join(outDir, PUBLIC_KEY), gpg(['--armor', '--export']));
    return [SIGNATURE, PUBLIC_KEY];
  } finally {
    // gpg-agent was started for this keyring: stop it before the directory goes.
    try {
      execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore', env: { ...process.env, GNUPGHOME: home } });
    } catch {
      /* no agent */
    }
    rmSync(home, { recursive: true, force: true });
  }
}
