/**
 * Points sshd at iam-ssh so that ours is the key source sshd really uses, proven with
 * `sshd -t` and `sshd -T`; on any failure the files are put back as they were.
 *
 * Where: a drop-in early in the included directory when nothing can come before it, else a
 * marked block at the very top of the main file. Flatcar's main file is a symlink to a
 * read-only stock file: it becomes a regular file with the block, and uninstall restores the
 * symlink.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DROP_IN_NAME, KEY_SOURCE_KEYWORDS, dropInText, effectiveIsOurs, insertBlock, keySourceLines, otherKeySources, parseSshdConfig, removeBlock, removeBlockKeeping, type Directive, type KeysSettings } from '../platform/sshd-config';
import { readSshdLayout, type SshdLayout } from '../platform/sshd';
import type { InstallHost } from './host';
import type { SshdChange } from './manifest';
import type { ChainCommand } from '../config/values';
import { applyUnitOverride, checkAsStarted, readIfPresent, reloadUnits, removeUnitOverride, reportDisplaced, restartUnit, unitDirectives, unitOverride, vendorService } from './sshd-vendor';
import { disableLegacySshd, markedSshdLines } from './legacy-text';

export const DEFAULT_SSHD_CONFIG = '/etc/ssh/sshd_config';

export interface SshdInstall {
  main: string;
  previous: SshdChange | null;
  keys: KeysSettings;
  /** KEYS_CHAIN_COMMAND: what keys runs of the vendor's command that ours displaces. */
  chain?: ChainCommand | null;
}

export interface SshdInstalled {
  change: SshdChange;
  /** aws-ec2-ssh's lines that stay commented out in the main file (uninstall says how to restore them). */
  legacyMarked: number;
}

export async function installSshd(host: InstallHost, o: SshdInstall, out: (l: string) => void): Promise<SshdInstalled> {
  const layout = readSshdLayout(o.main);
  const before = snapshot(layout, o.previous);
  // A -o of sshd's unit beats every config file (Ubuntu's EC2 Instance Connect): install's own
  // drop-in for the unit takes those options off its ExecStart.
  const service = await vendorService();
  const override = unitOverride(service, o.keys);
  const unitBefore = [o.previous?.unitDropIn, override?.path].filter((p): p is string => !!p).map((path) => ({ path, text: readIfPresent(path) }));
  const ourLines = keySourceLines(o.keys).map((l) => parseSshdConfig('', l)[0]!);
  const isOurs = (d: Directive) => ourLines.some((x) => x.keyword === d.keyword && x.args === d.args);
  // aws-ec2-ssh's lines are commented out, not just shadowed: they would be in force again
  // once ours go, and inside a Match block they would override ours. Line numbers stay.
  const legacy = disableLegacySshd(layout.mainText);
  const isLegacy = (d: Directive) => d.file === o.main && legacy.lines.some((l) => l.line === d.line);
  for (const l of legacy.lines) out(`  ${host.dryRun ? 'would comment' : 'comment'} out ${o.main}:${l.line} ${l.text.trim()} (aws-ec2-ssh's)`);
  // The main file as the distribution wrote it, and the other files without our drop-in.
  const mainText = removeBlock(legacy.text);
  const dropIn = layout.dropInDir ? join(layout.dropInDir, DROP_IN_NAME) : null;
  const others = layout.ordered.filter((d) => d.file !== dropIn && !(d.file === o.main && isOurs(d)) && !isLegacy(d));

  const change = chooseMethod(o, layout.dropInDir, layout.symlinkTarget ?? (o.previous?.method === 'block-over-symlink' ? o.previous.symlinkTarget : null), others, mainText);
  const { overriding, shadowed } = otherKeySources(others);
  reportDisplaced([...unitDirectives(service), ...shadowed], o.keys, o.chain ?? null, out);

  let unitChanged = false;
  try {
    if (change.method === 'drop-in') {
      host.writeFile(change.path, dropInText(o.keys), 0o644);
      writeMain(host, o.main, mainText);
    } else {
      if (dropIn) host.removeFile(dropIn);
      writeMain(host, o.main, insertBlock(mainText, o.keys));
    }
    const unit = await applyUnitOverride(host, override, o.previous?.unitDropIn ?? null);
    if (unit.path) change.unitDropIn = unit.path;
    unitChanged = unit.changed;
    if (host.dryRun) return { change, legacyMarked: markedSshdLines(mainText) };
    await checkAsStarted(o.main, (eff) => effectiveIsOurs(eff, o.keys));
  } catch (e) {
    restore(host, before);
    for (const u of unitBefore) {
      if (u.text === null) host.removeFile(u.path);
      else host.writeFile(u.path, u.text, 0o644);
    }
    if (unitChanged) await reloadUnits(host); // the unit is as it was
    throw new Error(`sshd configuration not changed: ${(e as Error).message}`, { cause: e });
  }
  const restarted = unitChanged && override ? await restartUnit(host, override.unit) : null;
  if (restarted) out(`  ${restarted}`);
  for (const d of overriding) {
    out(`warning: ${d.file}:${d.line} sets ${d.keyword} inside "Match ${d.match}": users it matches do not get iam-ssh's keys`);
  }
  return { change, legacyMarked: markedSshdLines(mainText) };
}

function chooseMethod(o: SshdInstall, dropInDir: string | null, symlinkTarget: string | null, others: Directive[], mainText: string): SshdChange {
  const block = (): SshdChange =>
    symlinkTarget ? { method: 'block-over-symlink', path: o.main, symlinkTarget } : { method: 'block', path: o.main };
  if (!dropInDir) return block();
  // The drop-in wins only if no global key source comes before the first Include of it:
  // lines of the main file above the Include, or included files that sort before ours.
  const dropIn = join(dropInDir, DROP_IN_NAME);
  const firstInclude = parseSshdConfig(o.main, mainText).find((d) => d.keyword === 'include' && d.match === null);
  const ahead = others.filter(
    (d) =>
      d.match === null &&
      (KEY_SOURCE_KEYWORDS as readonly string[]).includes(d.keyword) &&
      ((d.file === o.main && firstInclude !== undefined && d.line < firstInclude.line) || (d.file.startsWith(dropInDir + '/') && d.file < dropIn)),
  );
  return ahead.length === 0 ? { method: 'drop-in', path: dropIn, main: o.main } : block();
}

/** Writes the main file, keeping its mode; a symlinked main file becomes a regular file. */
function writeMain(host: InstallHost, main: string, text: string): void {
  const st = lstatSync(main);
  if (readFileSync(main, 'utf8') === text) return;
  host.writeFile(main, text, st.isSymbolicLink() ? 0o644 : st.mode & 0o7777, { uid: st.uid, gid: st.gid });
}

interface Snapshot {
  main: string;
  mainText: string;
  mainMode: number;
  symlinkTarget: string | null;
  dropIns: { path: string; text: string | null }[];
}

function snapshot(layout: SshdLayout, previous: SshdChange | null): Snapshot {
  const main = layout.main;
  const st = lstatSync(main);
  const dropIns = [previous?.method === 'drop-in' ? previous.path : null, layout.dropInDir ? join(layout.dropInDir, DROP_IN_NAME) : null]
    .filter((p): p is string => p !== null)
    .map((path) => ({ path, text: lstatSync(path, { throwIfNoEntry: false }) ? readFileSync(path, 'utf8') : null }));
  return { main, mainText: layout.mainText, mainMode: st.mode & 0o7777, symlinkTarget: st.isSymbolicLink() ? layout.symlinkTarget : null, dropIns };
}

function restore(host: InstallHost, s: Snapshot): void {
  if (s.symlinkTarget) host.symlink(s.symlinkTarget, s.main);
  else host.writeFile(s.main, s.mainText, s.mainMode);
  for (const d of s.dropIns) {
    if (d.text === null) host.removeFile(d.path);
    else host.writeFile(d.path, d.text, 0o644);
  }
}

/** The main file sshd reads, whose configuration `sshd -t` checks once a change is made or undone. */
export function sshdMainFile(change: SshdChange): string {
  return change.method === 'drop-in' ? (change.main ?? DEFAULT_SSHD_CONFIG) : change.path;
}

/**
 * Takes out what installSshd put in; the main file comes back byte for byte, except that
 * aws-ec2-ssh's lines stay commented out (uninstall prints how to restore them).
 */
export async function uninstallSshd(host: InstallHost, change: SshdChange, out: (line: string) => void): Promise<void> {
  if (change.unitDropIn) await removeUnitOverride(host, change.unitDropIn, out);
  if (change.method === 'drop-in') host.removeFile(change.path);
  else if (change.method === 'block-over-symlink') host.symlink(change.symlinkTarget, change.path);
  else {
    const st = lstatSync(change.path, { throwIfNoEntry: false });
    if (!st) return;
    const { text, kept } = removeBlockKeeping(readFileSync(change.path, 'utf8'));
    if (kept.length) out(`kept ${kept.length} line(s) added by hand inside iam-ssh's block of ${change.path}: ${kept.map((l) => JSON.stringify(l)).join(', ')}`);
    writeMain(host, change.path, text);
  }
}
