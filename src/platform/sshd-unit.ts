/**
 * sshd as its systemd unit starts it: the unit file and drop-ins as text, the ExecStart that
 * counts, its words as systemd splits and expands them, and the `-o`/`-f` options sshd gets
 * from them. A `-o` on sshd's command line beats every config file, so this is where Ubuntu's
 * EC2 Instance Connect puts its AuthorizedKeysCommand. Pure; the files are read by ./sshd.ts.
 */

/** The names sshd's unit has: Debian and Ubuntu's, everyone else's. */
export const SSHD_UNITS = ['ssh.service', 'sshd.service'] as const;

export interface UnitFile {
  path: string;
  text: string;
}

/** One word of a unit's command line: as written, and as systemd passes it. */
export interface UnitWord {
  raw: string;
  value: string;
}

export interface ExecStart {
  file: string;
  line: number;
  /** systemd's prefix characters (`-`, `@`, `+`, `!`, `:`), as written. */
  prefix: string;
  words: UnitWord[];
}

export interface UnitSettings {
  /** The ExecStart that counts: the last one after the last empty `ExecStart=`. */
  execStart: ExecStart | null;
  environment: Map<string, string>;
  environmentFiles: { path: string; optional: boolean }[];
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', s: ' ', r: '\r', '\\': '\\', '"': '"', "'": "'" };

/**
 * systemd's word splitting of a command line: white space separates words, "…" and '…' quote,
 * a backslash escapes; then the specifier `%%` becomes `%` (other specifiers stay as written).
 */
export function splitUnitWords(s: string): UnitWord[] {
  const words: UnitWord[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    const start = i;
    let value = '';
    let quote: string | null = null;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (quote === null && /\s/.test(c)) break;
      if (c === '\\' && i + 1 < s.length) {
        const n = s[++i]!;
        value += ESCAPES[n] ?? n;
      } else if (quote !== null && c === quote) quote = null;
      else if (quote === null && (c === '"' || c === "'")) quote = c;
      else value += c;
    }
    if (quote !== null) throw new Error(`unterminated quote in: ${s}`);
    words.push({ raw: s.slice(start, i), value: value.replace(/%%/g, '%') });
  }
  return words;
}

/** The [Service] settings that decide how sshd starts, over the unit file and its drop-ins in order. */
export function parseUnitFiles(files: UnitFile[]): UnitSettings {
  const starts: ExecStart[] = [];
  const environment = new Map<string, string>();
  let environmentFiles: UnitSettings['environmentFiles'] = [];
  for (const f of files) {
    let section = '';
    const lines = f.text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const first = i + 1;
      let line = lines[i]!.trim();
      // A backslash at the end continues the line.
      while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header) {
        section = header[1]!;
        continue;
      }
      const m = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
      if (section !== 'Service' || !m) continue;
      const [, key, value] = m as unknown as [string, string, string];
      if (key === 'ExecStart') {
        if (value === '') starts.length = 0;
        else {
          const prefix = /^[-@:+!]*/.exec(value)![0];
          starts.push({ file: f.path, line: first, prefix, words: splitUnitWords(value.slice(prefix.length)) });
        }
      } else if (key === 'Environment') {
        if (value === '') environment.clear();
        for (const w of splitUnitWords(value)) {
          const eq = w.value.indexOf('=');
          if (eq > 0) environment.set(w.value.slice(0, eq), w.value.slice(eq + 1));
        }
      } else if (key === 'EnvironmentFile') {
        if (value === '') environmentFiles = [];
        else environmentFiles.push({ path: value.replace(/^-/, ''), optional: value.startsWith('-') });
      }
    }
  }
  return { execStart: starts.at(-1) ?? null, environment, environmentFiles };
}

/** `KEY=value` lines of an EnvironmentFile; quotes around a value are taken off. */
export function parseEnvironmentFile(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m || raw.trim().startsWith('#')) continue;
    const v = m[2]!;
    out.push([m[1]!, /^(["']).*\1$/.test(v) && v.length >= 2 ? v.slice(1, -1) : v]);
  }
  return out;
}

/**
 * The argv systemd passes (program excluded): `$VAR` alone is the variable split at white
 * space, `${VAR}` is its value inside a word, `$$` a dollar sign; with the `:` prefix, none.
 */
export function execArgv(exec: ExecStart, env: ReadonlyMap<string, string>): string[] {
  const words = exec.words.slice(exec.prefix.includes('@') ? 2 : 1).map((w) => w.value);
  if (exec.prefix.includes(':')) return words;
  return words.flatMap((w) => {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) return (env.get(whole[1]!) ?? '').split(/\s+/).filter(Boolean);
    return [w.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name?: string) => (name === undefined ? '$' : (env.get(name) ?? '')))];
  });
}

/** sshd's getopt string (OpenSSH 9): these letters take an argument. */
const SSHD_ARG_LETTERS = 'CEbcfghkopu';

export interface SshdArgv {
  /** `-f`: the main config file, null for sshd's own. */
  configFile: string | null;
  /** Each `-o` value, in order: they come before every config file, first value winning. */
  options: string[];
}

/** The config-file and `-o` options of sshd's command line, as its getopt reads them. */
export function parseSshdArgv(argv: string[]): SshdArgv {
  let configFile: string | null = null;
  const options: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === '--') break;
    if (!w.startsWith('-') || w === '-') continue; // glibc's getopt reads options after operands too
    for (let j = 1; j < w.length; j++) {
      if (!SSHD_ARG_LETTERS.includes(w[j]!)) continue;
      const arg = j + 1 < w.length ? w.slice(j + 1) : argv[++i];
      if (arg === undefined) break;
      if (w[j] === 'o') options.push(arg);
      if (w[j] === 'f') configFile = arg;
      break;
    }
  }
  return { configFile, options };
}

/** The keyword of a `-o` value or a config line, lower case as `sshd -T` prints it. */
export function optionKeyword(option: string): string {
  return (/^\s*([^\s=]+)/.exec(option)?.[1] ?? '').toLowerCase();
}

/**
 * The ExecStart value without the `-o` options whose keyword `drop` names, other words as
 * written (quotes, `%%`, `$VARS`); null when none is there to drop. `-o` inside a cluster of
 * flags (`-Do X`, `-oX`) is taken out of the cluster.
 */
export function execStartWithout(exec: ExecStart, drop: (keyword: string) => boolean): { text: string; dropped: string[] } | null {
  const first = exec.prefix.includes('@') ? 2 : 1;
  const words = exec.words;
  const kept: string[] = words.slice(0, first).map((w) => w.raw);
  const dropped: string[] = [];
  for (let i = first; i < words.length; i++) {
    const w = words[i]!;
    if (w.value === '--') {
      kept.push(...words.slice(i).map((x) => x.raw));
      break;
    }
    const j = w.value.startsWith('-') ? [...w.value].findIndex((c, k) => k > 0 && SSHD_ARG_LETTERS.includes(c)) : -1;
    if (j < 0) {
      kept.push(w.raw); // an operand, or flags without an argument
      continue;
    }
    const inline = j + 1 < w.value.length;
    const arg = inline ? w.value.slice(j + 1) : words[i + 1]?.value;
    if (w.value[j] === 'o' && arg !== undefined && drop(optionKeyword(arg))) {
      dropped.push(arg);
      if (j > 1) kept.push(w.value.slice(0, j)); // the flags before it in a cluster (-Do X)
    } else {
      kept.push(w.raw);
      if (!inline && i + 1 < words.length) kept.push(words[i + 1]!.raw);
    }
    if (!inline) i++;
  }
  if (dropped.length === 0) return null;
  return { text: exec.prefix + kept.join(' '), dropped };
}

/** The files of `systemctl cat UNIT...`, grouped per unit: its fragment first, then its drop-ins. */
export function parseSystemctlCat(text: string): UnitFile[][] {
  const units: UnitFile[][] = [];
  let current: UnitFile | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const header = /^# (\/\S+)$/.exec(lines[i]!);
    if (header && (i === 0 || lines[i - 1] === '')) {
      current = { path: header[1]!, text: '' };
      const isDropIn = /\.d\/[^/]+$/.test(current.path);
      if (!isDropIn || units.length === 0) units.push([]);
      units.at(-1)!.push(current);
      continue;
    }
    if (current) current.text += lines[i] + '\n';
  }
  return units;
}
