/**
 * Parser for the config file: `KEY=value`, `KEY="value"`, `KEY='value'`, `# comment`.
 * aws-ec2-ssh's file was sourced by bash; this one is only ever parsed, so anything that
 * would make bash expand or execute (`$`, backticks) is an error rather than a surprise.
 */

export interface ConfigEntry {
  key: string;
  value: string;
  line: number;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    message: string,
  ) {
    super(line === null ? `${file}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'ConfigError';
  }
}

const LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

function parseValue(raw: string, file: string, line: number): string {
  let value: string;
  let rest: string;
  if (raw.startsWith('"') || raw.startsWith("'")) {
    const quote = raw[0]!;
    const end = raw.indexOf(quote, 1);
    if (end < 0) throw new ConfigError(file, line, 'unterminated quote');
    value = raw.slice(1, end);
    rest = raw.slice(end + 1);
    if (quote === '"' && /[$`\\]/.test(value)) {
      throw new ConfigError(file, line, 'shell expansion ($, `, \\) is not supported; use single quotes or a literal value');
    }
  } else {
    // As in bash, '#' starts a comment only at the start of a word: X=##ALL## is the value ##ALL##.
    const m = /^([^\s'"]*)(.*)$/.exec(raw)!;
    value = m[1]!;
    rest = m[2]!;
    if (/[$`\\;|&<>()]/.test(value)) {
      throw new ConfigError(file, line, 'shell syntax in an unquoted value is not supported; quote the value');
    }
  }
  if (rest.trim() !== '' && !/^\s+#/.test(rest)) {
    throw new ConfigError(file, line, 'unexpected text after the value (quote values that contain spaces)');
  }
  return value;
}

/** Parses the text of a config file into entries; later duplicates win, as in bash. */
export function parseConfigText(text: string, file: string): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const trimmed = lines[i]!.replace(/\r$/, '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = LINE.exec(trimmed);
    if (!m) throw new ConfigError(file, lineNo, 'expected KEY=value');
    entries.push({ key: m[1]!, value: parseValue(m[2]!, file, lineNo), line: lineNo });
  }
  return entries;
}
