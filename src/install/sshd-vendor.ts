/**
 * The vendor's key source that iam-ssh's displaces (EC2 Instance Connect): found where sshd
 * reads it (its unit's `-o` options, then its config files), chained through KEYS_CHAIN_COMMAND
 * rather than lost, and taken off sshd's command line, where a `-o` beats every config file,
 * by a drop-in for the unit whose ExecStart is the vendor's without those options.
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../platform/exec';
import { PROBE_USER, readSshdLayout, readSshdService, SshdControl, UNIT_DIRS, type SshdLayout, type SshdService } from '../platform/sshd';
import { DROP_IN_NAME, keySourceLines, parseSshdConfig, type Directive, type KeysSettings } from '../platform/sshd-config';
import { execStartWithout, optionKeyword, SSHD_UNITS } from '../platform/sshd-unit';
import { chainCommand, formatChainCommand, type ChainCommand } from '../config/values';
import { parseConfigText } from '../config/parse';
import { unsafeChainProgram } from '../keys/chain';
import { systemdRunning } from './scheduler';
import type { InstallHost } from './host';

/** install's drop-in for sshd's unit: sorts after the vendor's and after `systemctl edit`'s override.conf. */
export const UNIT_DROP_IN_NAME = 'zz-iam-ssh.conf';
const CHAIN_KEY = 'KEYS_CHAIN_COMMAND';

/** The keywords iam-ssh's own lines set: in command mode the command and its user, in file mode the file. */
export function ourKeywords(keys: KeysSettings): string[] {
  return keySourceLines(keys).map((l) => parseSshdConfig('', l)[0]!.keyword);
}

/** Where install writes its drop-in for a unit. */
export function unitDropInPath(unit: string): string {
  return join(UNIT_DIRS[0]!, `${unit}.d`, UNIT_DROP_IN_NAME);
}

/** sshd's unit as the vendor left it: install's own drop-in left out. */
export function vendorService(): Promise<SshdService | null> {
  return readSshdService(exec, systemdRunning(), SSHD_UNITS.map(unitDropInPath));
}

/** The unit's `-o` options as directives, ahead of every config file. */
export function unitDirectives(service: SshdService | null): Directive[] {
  if (!service?.execStart) return [];
  const file = `${service.unit} ExecStart (${service.execStart.file}:${service.execStart.line})`;
  return service.argv.options.map((o) => {
    const d = parseSshdConfig(file, o)[0];
    return { file, line: 0, keyword: optionKeyword(o), args: d?.args ?? '', match: null };
  });
}

/** Where a directive was read, for a message: `file:line`, or the unit's ExecStart. */
export function whereOf(d: Directive): string {
  return d.line === 0 ? d.file : `${d.file}:${d.line}`;
}

export interface VendorCommand {
  where: string;
  /** As sshd has it: program and arguments. */
  command: string;
  /** The KEYS_CHAIN_COMMAND that runs it for keys; null when it cannot (see why). */
  chain: ChainCommand | null;
  why: string | null;
}

/** iam-ssh's own command (an older install's too), or aws-ec2-ssh's, which iam-ssh replaces. */
function isOursOrPredecessors(command: string): boolean {
  return /(^|\/)(iam-ssh|authorized_keys_command\.sh)$/.test(command.split(/\s+/)[0] ?? '');
}

/**
 * What keys can run of a vendor's AuthorizedKeysCommand: its program and arguments, when they
 * need only what sshd passes keys (`%u`, `%f`) and the program is one keys would run (root's,
 * as sshd demands). aws-ec2-ssh's command is never chained: iam-ssh replaces it. Neither is
 * iam-ssh's own.
 */
export function asChain(command: string): { chain: ChainCommand | null; why: string | null } {
  if (isOursOrPredecessors(command)) return { chain: null, why: 'it is iam-ssh or aws-ec2-ssh, which iam-ssh replaces' };
  if (/["'\\]/.test(command)) return { chain: null, why: 'it quotes its arguments, which KEYS_CHAIN_COMMAND does not' };
  let chain: ChainCommand | null;
  try {
    chain = chainCommand(command);
  } catch (e) {
    return { chain: null, why: (e as Error).message };
  }
  // keys runs only what sshd itself would: a program missing or writable by others is refused at every login.
  const unsafe = chain ? unsafeChainProgram(chain.program) : 'no program';
  return unsafe ? { chain: null, why: unsafe } : { chain, why: null };
}

/**
 * The first global AuthorizedKeysCommand sshd reads other than iam-ssh's: the unit's `-o`
 * options come first, then the config files in sshd's order (our drop-in and our lines left out).
 */
export function firstVendorCommand(layout: SshdLayout, service: SshdService | null, keys: KeysSettings): VendorCommand | null {
  const ours = keySourceLines({ ...keys, mode: 'command' }).map((l) => parseSshdConfig('', l)[0]!);
  const dropIn = layout.dropInDir ? join(layout.dropInDir, DROP_IN_NAME) : null;
  const files = layout.ordered.filter((d) => d.file !== dropIn && !ours.some((x) => x.keyword === d.keyword && x.args === d.args));
  const d = [...unitDirectives(service), ...files].find((x) => x.keyword === 'authorizedkeyscommand' && x.match === null && !isOursOrPredecessors(x.args));
  if (!d || d.args === '' || d.args.toLowerCase() === 'none') return null;
  return { where: whereOf(d), command: d.args, ...asChain(d.args) };
}

/**
 * The KEYS_CHAIN_COMMAND install writes: the vendor's command, when iam-ssh's displaces one in
 * command mode and the config file (flags applied) does not already say what to chain (an
 * empty value there means: chain nothing).
 */
export function chainSetting(vendor: VendorCommand | null, keysMode: 'command' | 'file', configText: string, out: (l: string) => void): [string, string] | null {
  if (keysMode !== 'command' || !vendor) return null;
  if (parseConfigText(configText, '(config)').some((e) => e.key === CHAIN_KEY)) return null;
  if (!vendor.chain) {
    out(`warning: ${vendor.where}: AuthorizedKeysCommand ${vendor.command} cannot be chained (${vendor.why}): once iam-ssh's comes first, sshd no longer runs it`);
    return null;
  }
  const value = formatChainCommand(vendor.chain);
  out(`chaining the AuthorizedKeysCommand of ${vendor.where} after iam-ssh's keys: ${CHAIN_KEY}=${value}`);
  return [CHAIN_KEY, value];
}

/** What becomes of the key sources that iam-ssh's now come ahead of, for install's report. */
export function reportDisplaced(displaced: Directive[], keys: KeysSettings, chain: ChainCommand | null, out: (l: string) => void): void {
  const mine = ourKeywords(keys);
  for (const d of displaced.filter((x) => x.match === null && mine.includes(x.keyword))) {
    if (d.keyword === 'authorizedkeyscommanduser') continue; // told with its command
    if (d.keyword !== 'authorizedkeyscommand') {
      out(`note: ${whereOf(d)} ${d.keyword} ${d.args} is now ignored (iam-ssh's comes first)`);
      continue;
    }
    const same = chain !== null && asChain(d.args).chain !== null && formatChainCommand(asChain(d.args).chain!) === formatChainCommand(chain);
    if (same) out(`note: ${whereOf(d)} AuthorizedKeysCommand ${d.args}: keys runs it after iam-ssh's own lookup (KEYS_CHAIN_COMMAND), as ${keys.commandUser}`);
    else if (chain) out(`note: ${whereOf(d)} AuthorizedKeysCommand ${d.args} no longer runs; keys chains ${formatChainCommand(chain)} (KEYS_CHAIN_COMMAND)`);
    else out(`note: ${whereOf(d)} AuthorizedKeysCommand ${d.args} no longer runs: sshd runs one command, iam-ssh's, and KEYS_CHAIN_COMMAND is not set`);
  }
}

/** The drop-in install needs for sshd's unit, or null when its ExecStart passes none of our keywords with -o. */
export function unitOverride(service: SshdService | null, keys: KeysSettings): { unit: string; path: string; text: string; dropped: string[] } | null {
  if (!service?.execStart) return null;
  const mine = ourKeywords(keys);
  const without = execStartWithout(service.execStart, (k) => mine.includes(k));
  if (!without) return null;
  const e = service.execStart;
  const text = [
    '# Managed by `iam-ssh install`; `iam-ssh uninstall` removes this file.',
    `# The ExecStart of ${e.file}:${e.line} without its -o options for the key source: a -o beats every`,
    "# sshd config file, where iam-ssh's lines are; keys chains the vendor's command (KEYS_CHAIN_COMMAND).",
    '[Service]',
    'ExecStart=',
    `ExecStart=${without.text}`,
  ].join('\n') + '\n';
  return { unit: service.unit, path: unitDropInPath(service.unit), text, dropped: without.dropped };
}

/** The file as it is, to put back if install fails; null when absent. */
export function readIfPresent(path: string): string | null {
  return lstatSync(path, { throwIfNoEntry: false }) ? readFileSync(path, 'utf8') : null;
}

/**
 * Writes (or, when no longer needed, removes) install's drop-in for the unit; `previous`: the
 * one an earlier install recorded. Tells systemd when one changed. Returns the path in force.
 */
export async function applyUnitOverride(host: InstallHost, want: ReturnType<typeof unitOverride>, previous: string | null): Promise<{ path: string | null; changed: boolean }> {
  let changed = false;
  if (previous && previous !== want?.path) changed = host.removeFile(previous) || changed;
  if (want) changed = host.writeFile(want.path, want.text, 0o644) || changed;
  if (changed) await reloadUnits(host);
  return { path: want?.path ?? null, changed };
}

/** Makes systemd read the unit files again (a changed drop-in counts only then). */
export async function reloadUnits(host: InstallHost): Promise<void> {
  if (!host.dryRun && systemdRunning()) await host.run('systemctl', ['daemon-reload']);
}

/**
 * `sshd -t` and `sshd -T` with the `-f` and `-o` options sshd's unit now passes: what the
 * service will run, not only what its files say.
 */
export async function checkAsStarted(main: string, isOurs: (eff: Map<string, string[]>) => { ok: boolean; actual: string }): Promise<void> {
  const service = await readSshdService(exec, systemdRunning());
  const options = service?.argv.options ?? [];
  const file = service?.argv.configFile ?? main;
  if (file !== main) throw new Error(`${service!.unit} starts sshd with -f ${file}, not ${main}: run install with --sshd-config ${file}`);
  const control = new SshdControl();
  const invalid = await control.test(main, options);
  if (invalid) throw new Error(`sshd -t rejects the configuration${service ? ` as ${service.unit} starts it` : ''}: ${invalid}`);
  const eff = isOurs(await control.effective(main, PROBE_USER, options));
  if (!eff.ok) throw new Error(`sshd would still use another key source${service && options.length ? ` (${service.unit} passes ${options.map((o) => `-o "${o}"`).join(' ')})` : ''}: ${eff.actual}`);
}

/** Takes out install's drop-in for sshd's unit; the vendor's ExecStart is in force again once sshd restarts. */
export async function removeUnitOverride(host: InstallHost, path: string, out: (l: string) => void): Promise<void> {
  if (!host.removeFile(path) || host.dryRun || !systemdRunning()) return;
  await reloadUnits(host);
  const unit = path.split('/').at(-2)!.replace(/\.d$/, '');
  const restarted = await restartUnit(host, unit);
  if (restarted) out(`  ${restarted}`);
}

/** The vendor's AuthorizedKeysCommand as install finds it before changing anything; null when there is none, or no sshd config. */
export async function findVendorCommand(main: string, keys: KeysSettings): Promise<VendorCommand | null> {
  let layout: SshdLayout;
  try {
    layout = readSshdLayout(main);
  } catch {
    return null; // installSshd reports the missing file
  }
  return firstVendorCommand(layout, await vendorService(), keys);
}

/** A changed ExecStart takes effect only when the service starts again: a reload keeps the old command line. */
export async function restartUnit(host: InstallHost, unit: string): Promise<string | null> {
  if (host.dryRun || !systemdRunning()) return null;
  const active = await host.query('systemctl', ['is-active', '--quiet', unit]);
  if (active.exitCode !== 0) return null;
  await host.run('systemctl', ['restart', unit]);
  return `restarted ${unit}: its command line changed`;
}
