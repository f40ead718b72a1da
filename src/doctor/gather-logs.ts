/**
 * Facts for doctor's log checks (./checks-logs.ts): the free space of the journal's and
 * /var/log's filesystems, and journald's size settings as journald reads them.
 */
import { existsSync, readdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { LogSpaceFact, LogsFact } from './facts';
import { journaldSettings } from './checks-logs';
import { systemdRunning } from '../install/scheduler';

const MAIN = '/etc/systemd/journald.conf';
/** Drop-in directories, lowest precedence first: a file name in a later one hides the same name in an earlier one. */
const DROP_IN_DIRS = ['/usr/lib/systemd/journald.conf.d', '/usr/local/lib/systemd/journald.conf.d', '/run/systemd/journald.conf.d', '/etc/systemd/journald.conf.d'];
const PERSISTENT = '/var/log/journal';
const VOLATILE = '/run/log/journal';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(0, 65_536);
  } catch {
    return '';
  }
}

/** journald.conf, then its drop-ins sorted by file name, as one text. */
function journaldConfText(): string {
  const dropIns = new Map<string, string>();
  for (const dir of DROP_IN_DIRS) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.conf'));
    } catch {
      continue;
    }
    for (const n of names) dropIns.set(basename(n), join(dir, n));
  }
  const ordered = [...dropIns.keys()].sort().map((n) => dropIns.get(n)!);
  return [MAIN, ...ordered].map((p) => `${read(p)}\n[End]\n`).join('');
}

function measure(path: string): LogSpaceFact {
  try {
    const s = statfsSync(path);
    return { path, sizeBytes: s.blocks * s.bsize, availBytes: s.bavail * s.bsize };
  } catch (e) {
    return { path, error: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
}

export function readLogs(): LogsFact {
  const settings = journaldSettings(journaldConfText());
  const storage = settings.Storage ?? 'auto';
  // Storage=auto keeps the journal in /var/log/journal when that directory exists.
  const persistent = storage === 'persistent' || (storage === 'auto' && existsSync(PERSISTENT));
  const dir = storage === 'none' ? null : persistent ? PERSISTENT : VOLATILE;
  const journald = systemdRunning() && dir !== null
    ? { dir, maxUse: settings[persistent ? 'SystemMaxUse' : 'RuntimeMaxUse'] ?? null, keepFree: settings[persistent ? 'SystemKeepFree' : 'RuntimeKeepFree'] ?? null }
    : null;
  // One entry per filesystem: /var/log/journal usually lives on the filesystem of /var/log.
  const seen = new Set<number>();
  const space: LogSpaceFact[] = [];
  for (const path of [...(journald ? [journald.dir] : []), '/var/log']) {
    let dev: number;
    try {
      dev = statSync(path).dev;
    } catch {
      continue;
    }
    if (seen.has(dev)) continue;
    seen.add(dev);
    space.push(measure(path));
  }
  return { space, journald };
}
