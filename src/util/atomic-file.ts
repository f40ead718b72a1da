/** Atomic file replacement: readers see the old file or the new one, never a torn write. */
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, fchmodSync, fchownSync } from 'node:fs';

/** `owner`: give the file to this uid/gid before it appears under its name (root writing for another user). */
export function writeFileAtomic(path: string, data: string | Buffer, mode: number, owner?: { uid: number; gid: number }): void {
  // node:crypto is loaded on the first write, not at start-up: a keys cache hit writes nothing.
  const tmp = `${path}.tmp-${process.pid}-${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}`;
  // 'wx' refuses to follow a planted symlink at the temporary name.
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // the umask may have narrowed or (for root) not matched the mode
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}
