/**
 * sshd's `Match Group <RECORD_LOCAL_GROUP>` block: members run `iam-ssh record` whatever they
 * ask for, without forwarding of any kind (no side channel around the recorder), with
 * ExposeAuthInfo so that the recorder knows the key. Where: a drop-in that sorts before the
 * others, so that ours is the first Match block for these users (a Match block in an included
 * file ends with that file); without a drop-in directory, a marked block at the end of the
 * main file. Proven with `sshd -t` and `sshd -T -C user=…` for a recorded user (when the group
 * has one) and an unrecorded one; put back as it was when the proof fails.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSshdLayout } from '../platform/sshd';
import { SshdControl } from '../platform/sshd';
import { exec } from '../platform/exec';
import { DEFAULT_CONFIG } from '../config/load';
import type { InstallHost } from './host';
import { appendRecordBlock, expectedEffective, recordBlockLines, removeRecordBlock, type RecordBlockChange, type RecordBlockSettings } from './sshd-record-text';

export type { RecordBlockChange } from './sshd-record-text';
export const RECORD_DROP_IN = '01-iam-ssh-record.conf';

/** Members of the local group, from getent (sync has just made it). */
async function membersOf(group: string): Promise<string[]> {
  const r = await exec('getent', ['group', group]);
  if (r.exitCode !== 0) return [];
  return (r.stdout.trim().split(':')[3] ?? '').split(',').filter(Boolean);
}

/**
 * Writes the block (or, with `settings` null, takes it out) and proves it. `unrecorded`: a user
 * never in the group (the keys command's own user).
 */
export async function installRecordBlock(host: InstallHost, main: string, previous: RecordBlockChange | null, wanted: (Omit<RecordBlockSettings, 'configFile'> & { configFile: string }) | null, unrecorded: string, out: (l: string) => void): Promise<RecordBlockChange | null> {
  const settings: RecordBlockSettings | null = wanted && { ...wanted, configFile: wanted.configFile === DEFAULT_CONFIG ? null : wanted.configFile };
  if (!wanted && !previous) return null;
  const layout = readSshdLayout(main);
  const dropIn = layout.dropInDir ? join(layout.dropInDir, RECORD_DROP_IN) : null;
  const before = { main: layout.mainText, mainMode: lstatSync(main).mode & 0o7777, dropIn: dropIn ? readIfPresent(dropIn) : null };
  if (!settings) {
    if (previous) uninstallRecordBlock(host, previous);
    return null;
  }
  let change: RecordBlockChange;
  if (dropIn) {
    if (previous?.method === 'block') host.writeFile(main, removeRecordBlock(layout.mainText), before.mainMode);
    host.writeFile(dropIn, ['# Managed by `iam-ssh install`; `iam-ssh uninstall` removes this file.', ...recordBlockLines(settings)].join('\n') + '\n', 0o644);
    change = { method: 'drop-in', path: dropIn, main };
  } else {
    if (lstatSync(main).isSymbolicLink()) throw new Error(`${main} is a symlink and sshd has no drop-in directory: the recording block has nowhere to go`);
    host.writeFile(main, appendRecordBlock(layout.mainText, settings), before.mainMode);
    change = { method: 'block', path: main };
  }
  if (host.dryRun) return change;
  try {
    await proveRecordBlock(main, settings, unrecorded, out);
  } catch (e) {
    host.writeFile(main, before.main, before.mainMode);
    if (dropIn && before.dropIn === null) host.removeFile(dropIn);
    else if (dropIn && before.dropIn !== null) host.writeFile(dropIn, before.dropIn, 0o644);
    throw new Error(`sshd's recording block not installed: ${(e as Error).message}`, { cause: e });
  }
  return change;
}

export async function proveRecordBlock(main: string, s: RecordBlockSettings, unrecorded: string, out: (l: string) => void): Promise<void> {
  const sshd = new SshdControl();
  const invalid = await sshd.test(main);
  if (invalid) throw new Error(`sshd -t rejects the configuration: ${invalid}`);
  const want = expectedEffective(s);
  const [member] = await membersOf(s.group);
  if (member) {
    const eff = await sshd.effective(main, member);
    const wrong = Object.entries(want).filter(([k, v]) => (eff.get(k) ?? []).join(' ') !== v);
    if (wrong.length) throw new Error(`for recorded user ${member}, sshd -T says ${wrong.map(([k]) => `${k} ${(eff.get(k) ?? ['(unset)']).join(' ')}`).join(', ')} (another Match block wins?)`);
    out(`  sshd -T: ${member} (in ${s.group}) runs ${want.forcecommand} without forwarding`);
  } else {
    out(`  ${s.group} has no member yet: sshd -T is proven for a recorded user at the next install`);
  }
  const other = await sshd.effective(main, unrecorded);
  if ((other.get('forcecommand') ?? []).join(' ') === want.forcecommand) throw new Error(`sshd -T forces the recorder on ${unrecorded}, who is not in ${s.group}`);
}

export function uninstallRecordBlock(host: InstallHost, change: RecordBlockChange): void {
  if (change.method === 'drop-in') {
    host.removeFile(change.path);
    return;
  }
  const st = lstatSync(change.path, { throwIfNoEntry: false });
  if (!st?.isFile()) return;
  host.writeFile(change.path, removeRecordBlock(readFileSync(change.path, 'utf8')), st.mode & 0o7777, { uid: st.uid, gid: st.gid });
}

function readIfPresent(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
