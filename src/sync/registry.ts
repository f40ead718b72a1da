/**
 * The registry of accounts this tool created or adopted, under STATE_DIR. An entry is written before
 * useradd runs, so an account whose creation was interrupted (kill -9 between useradd's
 * writes) is still recognised as ours and repaired, never mistaken for someone else's.
 * Such an entry is marked `creating` until the run that began it ends, so that the next run
 * knows which accounts a killed run may have left half made.
 */
import { chmodSync, readFileSync, mkdirSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import { statePath } from '../state/paths';
import { parseJsonObject } from '../state/json';
import type { RegistryEntry } from './plan';
import { isIamUserName, isLegacyLocalName, isValidLocalName } from './names';
import { isMissing } from '../util/errno';

/**
 * Readable by the keys command's unprivileged user, which answers only for accounts listed
 * here. It holds no secret: local names, IAM user names and ids, UIDs (as users.json does).
 */
const REGISTRY_MODE = 0o644;

export class Registry {
  private readonly file: string;
  private entries: Record<string, RegistryEntry>;
  private inCreation = new Set<string>();

  constructor(private readonly stateDir: string) {
    this.file = statePath(stateDir, 'registry');
    this.entries = this.load();
  }

  private load(): Record<string, RegistryEntry> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if (isMissing(e)) return {};
      // A registry that cannot be read must stop removals, not silently forget accounts.
      throw new Error(`${this.file} is unreadable: ${(e as Error).message}`, { cause: e });
    }
    const raw = parseJsonObject(text);
    if (!raw) throw new Error(`${this.file} is unreadable: not a JSON object`);
    const out: Record<string, RegistryEntry> = {};
    const users = (raw.users ?? {}) as Record<string, RegistryEntry>;
    for (const [name, e] of Object.entries(users)) if (isEntry(name, e)) out[name] = e;
    const creating = Array.isArray(raw.creating) ? raw.creating : [];
    this.inCreation = new Set(creating.filter((n): n is string => typeof n === 'string' && Object.hasOwn(out, n)));
    return out;
  }

  /** A registry written by an older version (0600) becomes readable to the keys command. */
  makeReadable(): void {
    try {
      const st = statSync(this.file);
      if ((st.mode & 0o777) !== REGISTRY_MODE && st.uid === process.geteuid?.()) chmodSync(this.file, REGISTRY_MODE);
    } catch { /* absent: nothing to do */ }
  }

  all(): Record<string, RegistryEntry> {
    return { ...this.entries };
  }

  /** Accounts whose creation began in a run that did not settle it (one killed part-way). */
  creating(): string[] {
    return [...this.inCreation].sort();
  }

  set(name: string, entry: RegistryEntry): void {
    this.entries[name] = entry;
    this.save();
  }

  /** Records an account about to be created, before anything of it exists. */
  begin(name: string, entry: RegistryEntry): void {
    this.entries[name] = entry;
    this.inCreation.add(name);
    this.save();
  }

  /** These accounts are complete: one write for a whole run. */
  settle(names: Iterable<string>): void {
    let changed = false;
    for (const n of names) changed = this.inCreation.delete(n) || changed;
    if (changed) this.save();
  }

  delete(name: string): void {
    if (!Object.hasOwn(this.entries, name)) return;
    delete this.entries[name];
    this.inCreation.delete(name);
    this.save();
  }

  private save(): void {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o755 });
    const creating = [...this.inCreation].sort();
    writeFileAtomic(this.file, JSON.stringify({ version: 1, users: this.entries, ...(creating.length ? { creating } : {}) }, null, 1) + '\n', REGISTRY_MODE);
  }
}

/**
 * A well-formed entry: an account iam-ssh made has a name of its own form; an adopted one (marked
 * exactly `true`, with the UID it came with) may keep the name aws-ec2-ssh gave it.
 */
function isEntry(name: string, e: unknown): e is RegistryEntry {
  if (typeof e !== 'object' || e === null) return false;
  const { iamName, iamUserId, uid, adopted } = e as Record<string, unknown>;
  if (typeof iamName !== 'string' || !isIamUserName(iamName) || typeof iamUserId !== 'string') return false;
  if (adopted === undefined) return isValidLocalName(name) && (uid === null || Number.isInteger(uid));
  return adopted === true && isLegacyLocalName(name) && Number.isInteger(uid);
}
