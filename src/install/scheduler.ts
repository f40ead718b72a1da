/**
 * What runs `sync` on a schedule: the systemd units of systemd/ (embedded in the executable),
 * or a cron entry where systemd is not PID 1.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import syncService from '../../systemd/iam-ssh-sync.service';
import syncTimer from '../../systemd/iam-ssh-sync.timer';
import bootService from '../../systemd/iam-ssh-boot.service';

export const UNIT_DIR = '/etc/systemd/system';
export const CRON_FILE = '/etc/cron.d/iam-ssh';
const DEFAULT_BINARY = '/usr/local/bin/iam-ssh';

/** The unit whose state tells whether sync runs on schedule (doctor checks it). */
export const TIMER_UNIT = 'iam-ssh-sync.timer';
/** The unit that runs sync; install starts it for the first sync. */
export const SYNC_UNIT = 'iam-ssh-sync.service';
/** Units to enable, in order; the service itself is started by its timer. */
export const ENABLED_UNITS = [TIMER_UNIT, 'iam-ssh-boot.service'];

export type Scheduler = 'systemd' | 'cron' | 'none';

/** systemd's own test for "booted with systemd" (sd_booted). */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

export function detectScheduler(): Scheduler {
  if (systemdRunning()) return 'systemd';
  return existsSync(dirname(CRON_FILE)) ? 'cron' : 'none';
}

/** A binary path is written into unit and cron files: only plain path characters. */
export function checkBinaryPath(path: string): string {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(path) || path.includes('/../')) throw new Error(`binary path ${JSON.stringify(path)} must be absolute and plain`);
  return path;
}

/** Unit file name -> text, pointing at `binary`. */
export function unitFiles(binary: string): Record<string, string> {
  checkBinaryPath(binary);
  const withBinary = (text: string) => text.split(DEFAULT_BINARY).join(binary);
  return {
    'iam-ssh-sync.service': withBinary(syncService),
    'iam-ssh-sync.timer': syncTimer,
    'iam-ssh-boot.service': withBinary(bootService),
  };
}

/**
 * The cron entry: every 10 minutes at a minute offset fixed per host (from its name), so a
 * fleet does not call IAM in the same minute, and once at boot. Output goes to syslog, not mail.
 */
export function cronText(binary: string, hostId: string): string {
  checkBinaryPath(binary);
  const offset = createHash('sha256').update(hostId).digest().readUInt32BE(0) % 10;
  return [
    '# Managed by `iam-ssh install`; `iam-ssh uninstall` removes this file.',
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `${offset}-59/10 * * * * root ${binary} sync 2>&1 | logger -t iam-ssh`,
    `@reboot root ${binary} sync 2>&1 | logger -t iam-ssh`,
    '',
  ].join('\n');
}
