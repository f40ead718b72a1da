/**
 * The registry of accounts this tool created, under STATE_DIR. An entry is written before
 * useradd runs, so an account whose creation was interrupted (kill -9 between useradd's
 * writes) is still recognised as ours and repaired, never mistaken for someone else's.
 */
import { chmodSync, readFileSync, mkdirSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file';
import { statePath } from '../state/paths';
import { parseJsonObject } from '../state/json';
import type { RegistryEntry } from './plan';
import { isIamUserName, isValidLocalName } from './names';
import { isMissing } from '../util/errno';

/**
 * Readable by the keys command's unprivileged user, which answers only for accounts listed
 * here. It holds no secret: local names, IAM user names and ids, UIDs (as users.json does).
 */
const REGISTRY_MODE = 0o644;

export class Registry {
  private readonly file: string;
  private entries: Record<string, RegistryEntry>;

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
    for (const [name, e] of Object.entries(users)) {
      if (typeof e === 'object' && e !== null && isValidLocalName(name) && isIamUserName(e.iamName) && typeof e.iamUserId === 'string' && (e.uid === null || Number.isInteger(e.uid))) out[name] = e;
    }
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

  set(name: string, entry: RegistryEntry): void {
    this.entries[name] = entry;
    this.save();
  }

  delete(name: string): void {
    if (!(name in this.entries)) return;
    delete this.entries[name];
    this.save();
  }

  private save(): void {
    mkdirSync(this.stateDir, { recursive: true, mode: 0o755 });
    writeFileAtomic(this.file, JSON.stringify({ version: 1, users: this.entries }, null, 1) + '\n', REGISTRY_MODE);
  }
}
