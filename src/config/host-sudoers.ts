/**
 * The groups this host's sudoers grants something to: /etc/sudoers and what it includes, read
 * the way sudo reads them (an included directory's files in order, skipping names that contain
 * a `.` or end in `~`; a relative include from the including file's directory; `%h` is the short
 * host name). sync reads them so that LOCAL_GROUPS and GROUP_MAP cannot hand out such a group
 * without ALLOW_PRIVILEGED_GROUPS. Only root can read these files, and only sync needs them.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { ConfigError } from './parse';
import { sudoersReferences } from './privileged';
import { errnoText, isMissing } from '../util/errno';

export const SUDOERS = '/etc/sudoers';
/** sudo's own limit on include depth. */
const MAX_DEPTH = 128;

/** Group -> the first file found naming it. A missing file or directory names nothing; any other read failure is a ConfigError naming the file. */
export function readSudoersGroups(file = SUDOERS): Map<string, string> {
  const groups = new Map<string, string>();
  const seen = new Set<string>();
  const host = hostname().split('.')[0]!;

  const readFile = (path: string, depth: number): void => {
    let text: string;
    let real: string;
    try {
      real = realpathSync(path);
      if (seen.has(real) || depth > MAX_DEPTH) return;
      seen.add(real);
      text = readFileSync(real, 'utf8');
    } catch (e) {
      if (isMissing(e)) return;
      throw new ConfigError(path, null, `cannot read: ${errnoText(e)}`);
    }
    const refs = sudoersReferences(text);
    for (const g of refs.groups) if (!groups.has(g)) groups.set(g, path);
    for (const inc of refs.includes) {
      const target = inc.path.replace(/%h/g, host);
      const full = isAbsolute(target) ? target : join(dirname(path), target);
      if (inc.dir) readDir(full, depth + 1);
      else readFile(full, depth + 1);
    }
  };

  const readDir = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir, { withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => d.name);
    } catch (e) {
      if (isMissing(e)) return;
      throw new ConfigError(dir, null, `cannot read: ${errnoText(e)}`);
    }
    for (const name of names.sort()) if (!name.includes('.') && !name.endsWith('~')) readFile(join(dir, name), depth);
  };

  readFile(file, 0);
  return groups;
}
