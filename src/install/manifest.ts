/**
 * What `install` added to the machine, under STATE_DIR, so that `uninstall` removes exactly
 * that and nothing an operator or the distribution put there.
 */
import { readFileSync } from 'node:fs';
import { statePath } from '../state/paths';
import { parseJsonObject } from '../state/json';
import { isMissing } from '../util/errno';
import type { LegacyTakeover } from './legacy-text';
import type { RecordBlockChange } from './sshd-record-block';

/** install's drop-in for sshd's unit, when its ExecStart passed a key source with -o (Ubuntu's EC2 Instance Connect). */
interface SshdUnitChange {
  unitDropIn?: string;
}

export type SshdChange = SshdUnitChange & (
  /** `main`: the file sshd reads, which includes the drop-in (absent in manifests of older installs). */
  | { method: 'drop-in'; path: string; main?: string }
  /** A marked block at the top of the main file; removing it restores the file byte for byte. */
  | { method: 'block'; path: string }
  /** The main file was a symlink to a read-only stock file (Flatcar): restored as that symlink. */
  | { method: 'block-over-symlink'; path: string; symlinkTarget: string });

export interface InstallManifest {
  version: 1;
  binary: { path: string; created: boolean };
  config: { path: string; created: boolean };
  sshd: SshdChange | null;
  pam: { path: string } | null;
  commandUser: { name: string; created: boolean };
  /** Directories install created (removed by uninstall when empty of others' files). */
  dirs: string[];
  scheduler: { kind: 'systemd'; units: string[] } | { kind: 'cron'; path: string } | { kind: 'none' };
  /** What install disabled of aws-ec2-ssh: never restored by uninstall, which says how to. */
  legacy?: LegacyTakeover;
  /** sshd's Match block for RECORD_GROUPS (install/sshd-record-block.ts). */
  record?: RecordBlockChange;
}

export function manifestPath(stateDir: string): string {
  return statePath(stateDir, 'installManifest');
}

export function readManifest(stateDir: string): InstallManifest | null {
  let text: string;
  try {
    text = readFileSync(manifestPath(stateDir), 'utf8');
  } catch (e) {
    if (isMissing(e)) return null;
    throw new Error(`${manifestPath(stateDir)} is unreadable: ${(e as Error).message}`, { cause: e });
  }
  const m = parseJsonObject(text) as Partial<InstallManifest> | null;
  if (m?.version !== 1 || !m.binary || !m.config || !m.commandUser || !Array.isArray(m.dirs) || !m.scheduler) {
    throw new Error(`${manifestPath(stateDir)} is not an iam-ssh install manifest`);
  }
  return m as InstallManifest;
}

export function manifestText(m: InstallManifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}
