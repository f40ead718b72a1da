/**
 * Writing settings into a config file without losing what an operator wrote there: a key that
 * is already set is changed on its own line, a new key is appended, comments and the order of
 * everything else stay. Applying the same settings twice gives the same text.
 */
import { parseConfigText } from '../config/parse';

export const CONFIG_HEADER = [
  '# iam-ssh configuration. Written by `iam-ssh install`; edits are kept by a later install,',
  '# which changes only the keys it is given. Every key: docs/configuration.md',
];

/** A value as the parser reads it back: plain when safe, else single-quoted. */
export function quoteValue(key: string, value: string): string {
  if (/[\n\r']/.test(value)) throw new Error(`${key}: a value cannot contain a quote or a line break`);
  return /^[A-Za-z0-9_.,:/@+=%-]*$/.test(value) ? `"${value}"` : `'${value}'`;
}

/** `text`: the file as it is now ('' when absent). `settings`: keys to set, in order. */
export function applySettings(text: string, settings: [string, string][], file = '(config)'): string {
  const entries = parseConfigText(text, file); // a file we cannot parse is not rewritten
  const lines = text === '' ? [...CONFIG_HEADER, ''] : text.replace(/\n$/, '').split('\n');
  for (const [key, value] of settings) {
    const rendered = `${key}=${quoteValue(key, value)}`;
    // The last assignment wins when the file is read, so that is the one to change; earlier
    // duplicates are left alone (they are dead, and deleting an operator's line is not ours to do).
    const last = entries.filter((e) => e.key === key).pop();
    if (last) lines[last.line - 1] = rendered;
    else lines.push(rendered);
  }
  return lines.join('\n') + '\n';
}
