/**
 * The release as an operator would get it: a fresh clone of the committed HEAD (sharing this
 * checkout's node_modules), `npm run release` run in it twice, once signed with a throwaway
 * gpg key and once unsigned, into two directories. Everything is removed by cleanup().
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/run';

export interface Release {
  /** The clone. */
  src: string;
  /** The signed build. */
  a: string;
  /** The second, unsigned build of the same commit. */
  b: string;
  commit: string;
  scratch: string;
  /** Seconds each `npm run release` took. */
  seconds: number[];
  cleanup(): void;
}

const quiet = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'], encoding: 'utf8' as const, maxBuffer: 16 * 1024 * 1024 };

/** A throwaway signing key: its armored secret key, made in a keyring that is then removed. */
export function throwawayKey(scratch: string): string {
  const home = mkdtempSync(join(scratch, 'gpg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (args: string[]) => execFileSync('gpg', ['--batch', '--no-tty', '--quiet', ...args], { ...quiet, env });
  try {
    gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'iam-ssh test release <release@example.invalid>', 'ed25519', 'sign', '1d']);
    return gpg(['--armor', '--export-secret-keys']);
  } finally {
    execFileSync('gpgconf', ['--kill', 'all'], { stdio: 'ignore', env });
    rmSync(home, { recursive: true, force: true });
  }
}

export function buildRelease(): Release {
  const scratch = mkdtempSync(join(tmpdir(), 'iam-ssh-release-'));
  const cleanup = () => rmSync(scratch, { recursive: true, force: true });
  try {
    const src = join(scratch, 'src');
    execFileSync('git', ['clone', '--quiet', '--shared', '--no-checkout', ROOT, src], quiet);
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], quiet).trim();
    execFileSync('git', ['-C', src, 'checkout', '--quiet', head], quiet);
    symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'));
    const commit = execFileSync('git', ['-C', src, 'rev-parse', 'HEAD'], quiet).trim();
    const key = throwawayKey(scratch);
    const seconds: number[] = [];
    const release = (out: string, env: NodeJS.ProcessEnv) => {
      const t0 = Date.now();
      execFileSync('npm', ['run', '--silent', 'release', '--', '--out', out], { ...quiet, cwd: src, env });
      seconds.push((Date.now() - t0) / 1000);
    };
    const base = { ...process.env };
    delete base.IAM_SSH_SIGNING_KEY;
    delete base.SOURCE_DATE_EPOCH;
    const a = join(scratch, 'a');
    const b = join(scratch, 'b');
    release(a, { ...base, IAM_SSH_SIGNING_KEY: key });
    release(b, base);
    return { src, a, b, commit, scratch, seconds, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  }
}
