/**
 * The one sudoers drop-in. Written beside its target under a name containing a dot (which
 * sudo skips), checked with `visudo -cf`, then renamed over the target: a bad rule never
 * reaches sudo, and sudo never reads a half-written file.
 */
import { readFileSync, unlinkSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../util/atomic-file';
import { mustExec, type Exec } from '../platform/exec';

export function readSudoers(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

export async function writeSudoers(file: string, content: string, run: Exec): Promise<void> {
  const tmp = join(dirname(file), `.iam-ssh.${randomBytes(4).toString('hex')}`);
  writeFileAtomic(tmp, content, 0o440);
  try {
    await mustExec(run, 'visudo', ['-c', '-q', '-f', tmp]);
    renameSync(tmp, file);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}
