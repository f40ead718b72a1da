/**
 * aws-ec2-ssh's per-user sudoers files on this host: read for the plan, and removed one at a time,
 * each only once the sudoers configuration without it is known to give what iam-ssh's rule gives.
 */
import { lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Exec } from '../platform/exec';
import { isMissing } from '../util/errno';
import { LEGACY_SUDOERS_DIR, isLegacySudoersRule, legacySudoersPath } from './legacy-accounts';
import { directoryNames, readRegularFile } from '../util/regular-file';

/** aws-ec2-ssh's files hold one short line; anything far larger is not one of them. */
const MAX_BYTES = 4096;
/** The main file, which includes the drop-in directories. */
const MAIN_SUDOERS = '/etc/sudoers';

/**
 * The files sudo reads in the directory (`@includedir` skips names with a dot or ending in `~`),
 * regular files only, no link followed: file name -> content.
 */
export function readLegacySudoers(dir = LEGACY_SUDOERS_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of directoryNames(dir)) {
    if (name.includes('.') || name.endsWith('~')) continue;
    const file = readRegularFile(join(dir, name), MAX_BYTES);
    if (file) out[name] = file.text;
  }
  return out;
}

export interface SudoGrantCheck {
  /** `user` is a member of `group` now (group file or userdb drop-in). */
  isMember(user: string, group: string): Promise<boolean>;
  /** The drop-in iam-ssh writes, as it is now (null when absent). */
  dropIn(): string | null;
}

/**
 * Removes aws-ec2-ssh's file of `user` when it still holds what the plan saw. When `grant` is
 * given, the user must first be a member of that group and iam-ssh's drop-in must name it; in any
 * case the whole configuration must parse (`visudo -c -f /etc/sudoers`, which follows the
 * includes; not the plain `visudo -c`, whose check of the installed files' modes fails on
 * aws-ec2-ssh's own 0644 files, which sudo itself reads).
 */
export async function removeLegacySudoers(
  user: string, file: string, content: string, grant: string | null, check: SudoGrantCheck, run: Exec, dir = LEGACY_SUDOERS_DIR,
): Promise<void> {
  if (file !== legacySudoersPath(user, dir) || !isLegacySudoersRule(user, content)) throw new Error(`${file} is not aws-ec2-ssh's file of ${user}`);
  if (grant !== null) {
    if (!(await check.isMember(user, grant))) throw new Error(`${file} is kept: ${user} is not a member of ${grant}`);
    const rule = (check.dropIn() ?? '').split('\n').some((l) => l.startsWith(`%${grant} `));
    if (!rule) throw new Error(`${file} is kept: iam-ssh's sudoers drop-in does not grant ${grant}`);
  }
  const parsed = await run('visudo', ['-c', '-q', '-f', MAIN_SUDOERS]);
  if (parsed.exitCode !== 0) throw new Error(`${file} is kept: the sudoers configuration does not check: visudo exited ${parsed.exitCode}: ${(parsed.stderr || parsed.stdout).trim()}`);
  let now: string;
  try {
    const st = lstatSync(file);
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    now = readFileSync(file, 'utf8');
  } catch (e) {
    if (isMissing(e)) return; // already gone
    throw e;
  }
  if (now !== content) throw new Error(`${file} changed since the plan; kept`);
  try {
    unlinkSync(file);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}
