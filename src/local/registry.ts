/**
 * The registry of accounts this tool created, under STATE_DIR. An entry is written before
 * useradd runs, so an account whose creation was interrupted (kill -9 between useradd's
 * writes) is still recognised as ours and repaired, never mistaken for someone else's.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file';
import type { RegistryEntry } from '../core/plan';
import { isIamUserName, isValidLocalName } from '../core/names';

export class Registry {
  private readonly file: string;
  private entries: Record<string, RegistryEntry>;

  constructor(private readonly stateDir: string) {
    this.file = join(stateDir, 'registry.json');
    this.entries = this.load();
  }

  private load(): Record<string, RegistryEntry> {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      // A registry that cannot be read must stop removals, not silently forget accounts.
      throw new Error(`${this.file} is unreadable: ${(e as Error).message}`);
    }
    const out: Record<string, RegistryEntry> = {};
    const users = (raw as { users?: Record<string, RegistryEntry> }).users ?? {};
    for (const [name, e] of Object.entries(users)) {
      if (isValidLocalName(name) && isIamUserName(e.iamName) && typeof e.iamUserId === 'string' && (e.uid === null || Number.isInteger(e.uid))) out[name] = e;
    }
    return out;
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
    writeFileAtomic(this.file, JSON.stringify({ version: 1, users: this.entries }, null, 1) + '\n', 0o600);
  }
}
