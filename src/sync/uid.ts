/**
 * Fleet-stable UIDs: the same IAM user gets the same UID on every instance (and so owns
 * the same files on a shared EFS home), derived from the IAM UserId, which IAM never reuses.
 *
 * The hash is SHA-256 of the UserId, read as a 48-bit integer, reduced into [min, max].
 * On a collision with a UID or GID already in use, the fallback probes SHA-256 of
 * `UserId#1`, `UserId#2`, ... in order, so the fallback too is the same wherever the same
 * UIDs are taken. A 2^31 range makes a collision unlikely (about 1 in 4 million for 1,000 users).
 */
import { createHash } from 'node:crypto';

const PROBES = 64;

export function hashUid(iamUserId: string, attempt: number, min: number, max: number): number {
  const input = attempt === 0 ? iamUserId : `${iamUserId}#${attempt}`;
  const digest = createHash('sha256').update(input).digest();
  const n = digest.readUIntBE(0, 6);
  return min + (n % (max - min + 1));
}

/** The UID for an IAM user, avoiding `taken`; null when every probe collides. */
export function stableUid(iamUserId: string, min: number, max: number, taken: ReadonlySet<number>): number | null {
  for (let attempt = 0; attempt < PROBES; attempt++) {
    const uid = hashUid(iamUserId, attempt, min, max);
    // 65534 (nobody) and 65535 (the 16-bit "no user") have meanings of their own.
    if (!taken.has(uid) && uid !== 65535 && uid !== 65534) return uid;
  }
  return null;
}
