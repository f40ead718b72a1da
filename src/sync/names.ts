/**
 * IAM user name <-> local Linux name mapping, shared by `keys` and `sync`.
 *
 * IAM names allow [A-Za-z0-9+=,.@_-] (1..64 chars); Linux names cannot carry upper case
 * (Flatcar's useradd rejects it) nor `+ = , @`. The mapping lower-cases, then spells the
 * four characters out. Lower-casing is not reversible, so the reverse direction is a
 * lookup through a list of known IAM names, never a string transform.
 */
import { isIamUserName, isLegacyLocalNameSyntax, isLocalNameSyntax, LOCAL_NAME_MAX } from '../util/validators';

const SPELLED: Readonly<Record<string, string>> = { '+': '.plus.', '=': '.equal.', ',': '.comma.', '@': '.at.' };

export { isIamUserName, LOCAL_NAME_MAX };

/** Maps an IAM user name to its local name (no validation of the result; see checkLocalName). */
export function toLocalName(iamName: string): string {
  return iamName.toLowerCase().replace(/[+=,@]/g, (c) => SPELLED[c] ?? c);
}

/**
 * The name aws-ec2-ssh gave an IAM user's account: the same four characters spelled out, case
 * kept (`Alice.Smith` stays `Alice.Smith`). An account of that name is adopted in place
 * (legacy-accounts.ts), so that people keep the login name they use.
 */
export function toLegacyName(iamName: string): string {
  return iamName.replace(/[+=,@]/g, (c) => SPELLED[c] ?? c);
}

export type NameProblem = 'empty' | 'too-long' | 'bad-first-char' | 'bad-char' | 'reserved';

/** Names the system or sshd already gives a meaning to: never map an IAM user onto them. */
const RESERVED = new Set(['root', 'daemon', 'bin', 'sys', 'sync', 'nobody', 'sshd', 'iam-ssh']);

/** Why a local name is unusable, or null when it is fine. */
export function checkLocalName(name: string): NameProblem | null {
  if (name.length === 0) return 'empty';
  if (name.length > LOCAL_NAME_MAX) return 'too-long';
  if (!/^[a-z_]/.test(name)) return 'bad-first-char';
  if (!isLocalNameSyntax(name)) return 'bad-char';
  if (RESERVED.has(name)) return 'reserved';
  return null;
}

export function isValidLocalName(name: string): boolean {
  return checkLocalName(name) === null;
}

/**
 * A name of an account aws-ec2-ssh made that iam-ssh may adopt and answer for: aws-ec2-ssh's
 * own syntax (util/validators.ts), and not a reserved name in any case (`Root` is not `root`
 * to the system, but is to a reader of the logs).
 */
export function isLegacyLocalName(name: string): boolean {
  return isLegacyLocalNameSyntax(name) && !RESERVED.has(name.toLowerCase());
}

/** A name an account iam-ssh manages may have: its own form, or an adopted aws-ec2-ssh name. */
export function isManagedNameSyntax(name: string): boolean {
  return isValidLocalName(name) || isLegacyLocalName(name);
}

export interface NameMapping {
  /** local name -> IAM name, only for names that map uniquely and validly. */
  byLocal: Map<string, string>;
  /** IAM names skipped, with the reason. */
  skipped: { iamName: string; localName: string; reason: NameProblem | 'collision' | 'not-iam-name' }[];
}

/**
 * Maps a list of IAM names. Two IAM names that land on one local name are both skipped:
 * picking either would hand one person's account to another.
 */
export function mapIamNames(iamNames: Iterable<string>): NameMapping {
  const candidates = new Map<string, string[]>();
  const skipped: NameMapping['skipped'] = [];
  for (const iamName of new Set(iamNames)) {
    const localName = toLocalName(iamName);
    if (!isIamUserName(iamName)) {
      skipped.push({ iamName, localName, reason: 'not-iam-name' });
      continue;
    }
    const problem = checkLocalName(localName);
    if (problem) {
      skipped.push({ iamName, localName, reason: problem });
      continue;
    }
    const list = candidates.get(localName) ?? [];
    list.push(iamName);
    candidates.set(localName, list);
  }
  const byLocal = new Map<string, string>();
  for (const [localName, names] of candidates) {
    if (names.length === 1) byLocal.set(localName, names[0]!);
    else for (const iamName of names.sort()) skipped.push({ iamName, localName, reason: 'collision' });
  }
  return { byLocal, skipped };
}
