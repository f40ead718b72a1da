/**
 * sshd_config as text: the directives that decide where keys come from, and the block that
 * `install` puts in and `uninstall` takes out. Pure; the files are read by ./sshd.ts.
 *
 * sshd keeps the FIRST value it reads for a keyword (Include pulls files in where the Include
 * line stands), and values inside a Match block override for the connections it matches.
 */
import { authorizedKeysFilePattern } from '../keys/file-mode';

export interface Directive {
  file: string;
  line: number;
  keyword: string; // lower case, as sshd -T prints it
  args: string;
  /** The Match line this directive sits under, or null at global scope. */
  match: string | null;
}

/** The keywords whose first value decides how sshd finds a user's keys. */
export const KEY_SOURCE_KEYWORDS = ['authorizedkeyscommand', 'authorizedkeyscommanduser', 'authorizedkeysfile'] as const;

/** install's drop-in: early in the sort order, so it comes before vendor drop-ins. */
export const DROP_IN_NAME = '00-iam-ssh.conf';
/** The locked system user install creates to run the keys command (AuthorizedKeysCommandUser). */
export const COMMAND_USER = 'iam-ssh';

export const BEGIN_MARK = '# BEGIN iam-ssh: managed by `iam-ssh install`; `iam-ssh uninstall` removes this block';
export const END_MARK = '# END iam-ssh';

/** Directives of one file in order; comments and blank lines skipped. */
export function parseSshdConfig(file: string, text: string): Directive[] {
  const out: Directive[] = [];
  let match: string | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    const keyword = (m ? m[1]! : line).toLowerCase();
    const args = m ? m[2]!.trim() : '';
    if (keyword === 'match') match = args.toLowerCase() === 'all' ? null : args;
    out.push({ file, line: i + 1, keyword, args, match: keyword === 'match' ? null : match });
  });
  return out;
}

export interface KeysSettings {
  mode: 'command' | 'file';
  binary: string;
  commandUser: string;
  keysFileDir: string;
}

/** The lines that point sshd at iam-ssh. */
export function keySourceLines(s: KeysSettings): string[] {
  if (s.mode === 'file') {
    // Users' own files keep working; ours is root-owned and written by sync.
    return [`AuthorizedKeysFile .ssh/authorized_keys ${authorizedKeysFilePattern(s.keysFileDir)}`];
  }
  return [`AuthorizedKeysCommand ${s.binary} keys %u %f`, `AuthorizedKeysCommandUser ${s.commandUser}`];
}

/** The drop-in file's whole text. */
export function dropInText(s: KeysSettings): string {
  return ['# Managed by `iam-ssh install`; `iam-ssh uninstall` removes this file.', ...keySourceLines(s)].join('\n') + '\n';
}

/**
 * Puts the block at the very top of the main file, so that it comes before any Include and
 * any vendor AuthorizedKeysCommand. removeBlock(insertBlock(t)) === t, byte for byte.
 */
export function insertBlock(text: string, s: KeysSettings): string {
  const block = [BEGIN_MARK, ...keySourceLines(s), END_MARK].join('\n') + '\n';
  return block + removeBlock(text);
}

/**
 * Takes out the lines install wrote: the two marks and the key-source directives between them.
 * Anything else an administrator added inside the block stays where the block was, and is
 * returned in `kept` so that the caller can say so.
 */
export function removeBlockKeeping(text: string): { text: string; kept: string[] } {
  const start = text.indexOf(BEGIN_MARK + '\n');
  if (start === -1) return { text, kept: [] };
  const endAt = text.indexOf('\n' + END_MARK + '\n', start);
  if (endAt === -1) throw new Error(`an iam-ssh block in sshd_config has no "${END_MARK}" line; fix the file by hand`);
  const inside = text.slice(start + BEGIN_MARK.length + 1, endAt + 1).split('\n').slice(0, -1);
  const ours = (line: string) => (KEY_SOURCE_KEYWORDS as readonly string[]).includes(line.trim().split(/[\s=]+/)[0]!.toLowerCase());
  const kept = inside.filter((l) => !ours(l));
  const keptText = kept.map((l) => l + '\n').join('');
  return { text: text.slice(0, start) + keptText + text.slice(endAt + END_MARK.length + 2), kept };
}

export function removeBlock(text: string): string {
  return removeBlockKeeping(text).text;
}

export function hasBlock(text: string): boolean {
  return text.includes(BEGIN_MARK + '\n');
}

/** The Include patterns of the main file, with their line, in order. */
export function includes(directives: Directive[]): { line: number; patterns: string[] }[] {
  return directives
    .filter((d) => d.keyword === 'include' && d.match === null)
    .map((d) => ({ line: d.line, patterns: d.args.split(/\s+/).filter(Boolean) }));
}

/**
 * Other key-source directives once ours comes first: global ones are shadowed (sshd keeps the
 * first value), ones inside a Match block still override ours for the connections they match.
 */
export function otherKeySources(others: Directive[]): { overriding: Directive[]; shadowed: Directive[] } {
  const sources = others.filter((d) => (KEY_SOURCE_KEYWORDS as readonly string[]).includes(d.keyword));
  return { overriding: sources.filter((d) => d.match !== null), shadowed: sources.filter((d) => d.match === null) };
}

/** Parses `sshd -T` output into keyword -> values (keywords sshd prints more than once keep all). */
export function parseEffective(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const k = m[1]!.toLowerCase();
    out.set(k, [...(out.get(k) ?? []), m[2]!]);
  }
  return out;
}

/** Whether sshd's effective settings (sshd -T) make it ask iam-ssh for keys. */
export function effectiveIsOurs(effective: Map<string, string[]>, s: KeysSettings): { ok: boolean; actual: string } {
  if (s.mode === 'file') {
    const files = effective.get('authorizedkeysfile')?.[0] ?? '';
    return { ok: files.split(/\s+/).includes(authorizedKeysFilePattern(s.keysFileDir)), actual: `AuthorizedKeysFile ${files}` };
  }
  const cmd = effective.get('authorizedkeyscommand')?.[0] ?? 'none';
  const user = effective.get('authorizedkeyscommanduser')?.[0] ?? 'none';
  const ok = cmd.split(/\s+/)[0] === s.binary && cmd.split(/\s+/)[1] === 'keys' && user === s.commandUser;
  return { ok, actual: `AuthorizedKeysCommand ${cmd}; AuthorizedKeysCommandUser ${user}` };
}
