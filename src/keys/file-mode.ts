/**
 * File mode (KEYS_MODE=file): `sync` writes each managed user's Active keys to one root-owned
 * AuthorizedKeysFile, so that a login costs sshd one file read. This module is the pure part:
 * the file's format, reading it back, and which files to write and remove.
 */
import { isManagedNameSyntax } from '../sync/names';
import { parsePublicKey } from '../util/ssh-key';
import type { CachedKey } from './cache-entry';
import { isIamKeyId, SHA256_FINGERPRINT_SOURCE } from '../util/validators';

/** Root-owned, and every directory above it, as sshd's StrictModes demands. */
export const DEFAULT_KEYS_FILE_DIR = '/etc/ssh/iam-ssh/authorized_keys';
export const KEY_FILE_MODE = 0o644;
export const KEY_DIR_MODE = 0o755;

/** The sshd_config value that makes sshd read these files (`%u` is the local user name). */
export function authorizedKeysFilePattern(dir: string): string {
  return `${dir.replace(/\/+$/, '')}/%u`;
}

const ID_LINE = new RegExp(`^# key (\\S+) ${SHA256_FINGERPRINT_SOURCE}$`);

/**
 * The file: a header, then for each key a comment naming its IAM key id (so that an operator,
 * and the next sync, can tell which IAM key a line is) and the validated key line.
 */
export function formatKeyFile(iamName: string, keys: readonly CachedKey[]): string {
  const lines = [`# Keys of IAM user ${iamName}, written by iam-ssh sync; changes are overwritten.`];
  for (const k of keys) lines.push(`# key ${k.id} ${k.fingerprint}`, k.line);
  return lines.join('\n') + '\n';
}

/** The keys of a file we wrote, each re-validated; anything else in it is ignored. */
export function parseKeyFile(text: string): CachedKey[] {
  const lines = text.split('\n');
  const keys: CachedKey[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const id = ID_LINE.exec(lines[i]!)?.[1];
    if (!id || !isIamKeyId(id)) continue;
    const parsed = parsePublicKey(lines[i + 1]!);
    if (parsed.ok && parsed.key.line === lines[i + 1]) keys.push({ id, line: parsed.key.line, fingerprint: parsed.key.fingerprint });
  }
  return keys;
}

export interface KeyFileUser {
  localName: string;
  iamName: string;
  /** null: this run could not read the user's keys (throttled, failed). */
  keys: CachedKey[] | null;
}

export interface KeyFilesInput {
  /** The users sync manages after this run. */
  users: readonly KeyFileUser[];
  /** Content of the files the directory holds now, by file name. */
  existing: ReadonlyMap<string, string>;
  /** Local names this tool manages or managed (registry, recorded state): the only files it may remove. */
  managed: ReadonlySet<string>;
  /** Every IAM read of the run succeeded: only then may a file be removed. */
  complete: boolean;
}

export interface KeyFilesPlan {
  write: { user: string; content: string }[];
  remove: string[];
  /** Users whose keys could not be read: their existing file stays as it is. */
  kept: string[];
}

export function planKeyFiles(input: KeyFilesInput): KeyFilesPlan {
  const plan: KeyFilesPlan = { write: [], remove: [], kept: [] };
  const wanted = new Set<string>();
  for (const u of input.users) {
    if (!isManagedNameSyntax(u.localName)) continue;
    wanted.add(u.localName);
    if (u.keys === null) {
      // Never blank a user's keys because IAM was throttled: the last good file stays.
      if (input.existing.has(u.localName)) plan.kept.push(u.localName);
      continue;
    }
    const content = formatKeyFile(u.iamName, u.keys);
    if (input.existing.get(u.localName) !== content) plan.write.push({ user: u.localName, content });
  }
  if (input.complete) {
    for (const name of input.existing.keys()) {
      if (!wanted.has(name) && isManagedNameSyntax(name) && input.managed.has(name)) plan.remove.push(name);
    }
  }
  plan.remove.sort();
  return plan;
}
