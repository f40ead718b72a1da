/**
 * CACHE_DIR belongs to the unprivileged command user, so anything in it may have been planted:
 * a FIFO that blocks a reader, a symlink that points a root process somewhere else, a huge
 * file. Every read there goes through util/regular-file.ts, and root touches CACHE_DIR only as its
 * owner (asCacheOwner), so a planted link reaches no more than the owner could reach itself.
 */
import { lstatSync } from 'node:fs';
import { errnoText } from '../util/errno';

export interface CacheOwner {
  uid: number;
  gid: number;
}

/** The owner of CACHE_DIR (not followed if a link), or the reason there is none to act as. */
export function cacheOwner(cacheDir: string): CacheOwner | string {
  try {
    const st = lstatSync(cacheDir);
    if (!st.isDirectory()) return `${cacheDir} is not a directory`;
    return { uid: st.uid, gid: st.gid };
  } catch (e) {
    return `${cacheDir}: ${errnoText(e)}`;
  }
}

/**
 * Runs `fn` with the effective uid and gid of CACHE_DIR's owner and no supplementary groups
 * when this process is root and the owner is not; returns the reason instead when CACHE_DIR has
 * no usable owner. Synchronous on purpose: nothing else may run under the borrowed identity.
 */
export function asCacheOwner<T>(cacheDir: string, fn: () => T): { ok: true; value: T } | { ok: false; reason: string } {
  const owner = cacheOwner(cacheDir);
  if (typeof owner === 'string') return { ok: false, reason: owner };
  const drop = process.geteuid?.() === 0 && owner.uid !== 0;
  if (!drop) return { ok: true, value: fn() };
  const groups = process.getgroups!();
  process.setgroups!([owner.gid]);
  process.setegid!(owner.gid);
  process.seteuid!(owner.uid);
  try {
    return { ok: true, value: fn() };
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  }
}
