/**
 * Reads one IAM user's Active SSH keys and validates them: what `keys` serves and what
 * `sync` writes in file mode or prefetches. A key body never changes for a given
 * SSHPublicKeyId, so bodies already known (from the cache entry or the key file) are reused
 * and only new ids cost a GetSSHPublicKey.
 */
import type { IamDirectory } from '../aws/iam';
import { parsePublicKey } from '../util/ssh-key';
import type { CachedKey } from './cache-entry';

export interface DroppedKey {
  keyId: string;
  reason: string;
}

export interface ActiveKeys {
  /** Validated keys in IAM's order. */
  keys: CachedKey[];
  /** Bodies that failed validation (options, several lines, garbage): never served. */
  dropped: DroppedKey[];
}

export async function readActiveKeys(
  iam: IamDirectory, iamName: string, known: readonly CachedKey[], signal?: AbortSignal,
): Promise<ActiveKeys> {
  const ids = await iam.listActiveKeyIds(iamName, signal);
  const byId = new Map(known.map((k) => [k.id, k]));
  const bodies = await Promise.all(ids.map(async (id) => {
    const reused = byId.get(id);
    return reused ? { id, reused } : { id, fetched: await iam.getKey(iamName, id, signal) };
  }));
  const keys: CachedKey[] = [];
  const dropped: DroppedKey[] = [];
  for (const b of bodies) {
    if (b.reused) {
      keys.push(b.reused);
      continue;
    }
    if (b.fetched!.status !== 'Active') continue; // deactivated between the list and the get
    const parsed = parsePublicKey(b.fetched!.body);
    if (!parsed.ok) dropped.push({ keyId: b.id, reason: parsed.reason });
    else keys.push({ id: b.id, line: parsed.key.line, fingerprint: parsed.key.fingerprint });
  }
  return { keys, dropped };
}
