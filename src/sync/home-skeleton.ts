/**
 * Whether a home directory holds nothing but useradd's copy of the skeleton directory, and
 * whether that copy is whole. useradd makes the home (root's first, then the account's) and
 * copies the skeleton file by file: each file is created as root, given to the account, then
 * written. A kill part-way leaves files that are root's, empty or cut short, and skeleton files
 * not yet copied. A home that holds only such copies can be removed without losing anything and
 * made again by useradd.
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { SkeletonCopy } from './account-files';

const MAX_ENTRIES = 500;
const MAX_FILE = 1 << 20;

class NotACopy extends Error {}

/** `other`: the home holds something that is not a copy of the skeleton, or is someone else's. */
export function skeletonCopy(home: string, skel: string, uid: number): SkeletonCopy {
  let unfinished = false;
  let seen = 0;
  const owner = (st: Stats) => {
    if (st.uid === 0 && uid !== 0) unfinished = true;
    else if (st.uid !== uid) throw new NotACopy();
  };
  const stat = (path: string) => {
    try {
      return lstatSync(path);
    } catch {
      return null;
    }
  };
  const walk = (rel: string) => {
    const names = readdirSync(join(home, rel));
    const skelNames = stat(join(skel, rel))?.isDirectory() ? readdirSync(join(skel, rel)) : [];
    if (skelNames.some((n) => !names.includes(n))) unfinished = true;
    for (const name of names) {
      if (++seen > MAX_ENTRIES) throw new NotACopy();
      const h = lstatSync(join(home, rel, name));
      const s = stat(join(skel, rel, name));
      if (!s) throw new NotACopy();
      owner(h);
      if (h.isDirectory() && s.isDirectory()) walk(join(rel, name));
      else if (h.isSymbolicLink() && s.isSymbolicLink()) {
        if (readlinkSync(join(home, rel, name)) !== readlinkSync(join(skel, rel, name))) throw new NotACopy();
      } else if (h.isFile() && s.isFile()) {
        if (h.size > s.size || s.size > MAX_FILE) throw new NotACopy();
        const copied = readFileSync(join(home, rel, name));
        const original = readFileSync(join(skel, rel, name));
        // A copy cut short is a beginning of the original; anything else is the account's own.
        if (!original.subarray(0, copied.length).equals(copied)) throw new NotACopy();
        if (copied.length < original.length) unfinished = true;
      } else throw new NotACopy();
    }
  };
  try {
    const top = lstatSync(home);
    if (!top.isDirectory()) return 'other';
    owner(top);
    walk('');
  } catch {
    return 'other';
  }
  return unfinished ? 'unfinished' : 'whole';
}
