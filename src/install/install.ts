/**
 * `iam-ssh install`: puts this executable on the machine and wires it in (config file,
 * command user, directories, sshd, PAM notifications, schedule, first sync). Every step is a
 * no-op when already done, so a second run with the same flags changes no file.
 */
import type { Argv, CommandModule } from 'yargs';
import { exec } from '../platform/exec';
import { InstallHost, refuseUnlessRoot } from './host';
import { readManifest, manifestPath, manifestText, type InstallManifest } from './manifest';
import { moveScheduleAside, scanLegacy, waitForImports } from './legacy';
import { legacyRecord, predecessorReport, restoreCommands, LEGACY_CRON_FILE } from './legacy-text';
import { chainSetting, findVendorCommand } from './sshd-vendor';
import { installSshd, DEFAULT_SSHD_CONFIG } from './sshd-edits';
import { installRecordBlock } from './sshd-record-block';
import { applySettings } from './config-file';
import { parseConfigText } from '../config/parse';
import { buildConfig } from '../config/layers';
import { DEFAULT_CONFIG, LEGACY_CONFIG } from '../config/load';
import { SshdControl } from '../platform/sshd';
import { systemdRunning, detectScheduler, ENABLED_UNITS, SYNC_UNIT, UNIT_DIR, CRON_FILE, cronText, unitFiles, checkBinaryPath, type Scheduler } from './scheduler';
import { commandUserIds, ensureCommandUser, COMMAND_USER } from './command-user';
import { defaultBinaryPath } from '../platform/os';
import { setNotifyHook } from './pam';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Flag -> config key. Only settings an operator decides at install time; the rest: the file. */
const SETTING_FLAGS: [flag: string, key: string, describe: string][] = [
  ['authorized-groups', 'IAM_AUTHORIZED_GROUPS', 'IAM groups whose members may log in (comma list; empty: every IAM user)'],
  ['sudo-groups', 'SUDOERS_GROUPS', 'IAM groups whose members get sudo (##ALL##: every synced user)'],
  ['local-groups', 'LOCAL_GROUPS', 'local groups every synced user joins'],
  ['ssm-config-path', 'SSM_CONFIG_PATH', 'SSM Parameter Store path holding fleet settings'],
  ['authorized-groups-tag', 'IAM_AUTHORIZED_GROUPS_TAG', 'instance tag naming the authorized IAM groups'],
  ['sudo-groups-tag', 'SUDOERS_GROUPS_TAG', 'instance tag naming the sudo IAM groups'],
  ['assume-role', 'ASSUMEROLE', 'IAM role ARN to read IAM through (cross-account)'],
  ['region', 'AWS_REGION', 'AWS region of the IAM/SSM/STS endpoints'],
  ['endpoint-url', 'AWS_ENDPOINT_URL', 'one endpoint for IAM, SSM and STS (emulators)'],
  ['keys-mode', 'KEYS_MODE', 'command (live, cached; default) or file (sync writes key files)'],
  ['keys-prefetch', 'KEYS_PREFETCH', 'yes: sync refreshes the keys cache of every user'],
  ['keys-chain-command', 'KEYS_CHAIN_COMMAND', "a vendor's AuthorizedKeysCommand keys runs after its own (default: the one iam-ssh's displaces; empty: none)"],
  ['notify-groups', 'NOTIFY_GROUPS', 'IAM groups whose logins are reported (##ALL##: everyone); adds the PAM hook'],
  ['notify-ignore-users', 'NOTIFY_IGNORE_USERS', 'local users whose logins are never reported'],
  ['notify-webhook-url', 'NOTIFY_WEBHOOK_URL', 'webhook (JSON POST, Slack-compatible) for login notifications'],
  ['notify-email', 'NOTIFY_EMAIL', 'addresses mailed through sendmail on a reported login'],
];

export interface InstallOptions {
  configFile: string;
  settings: [string, string][];
  source: string;
  binary: string | undefined;
  sshdConfig: string;
  pamFile: string;
  scheduler: Scheduler | 'auto';
  sync: boolean;
  dryRun: boolean;
}

export async function runInstall(o: InstallOptions, out: (line: string) => void): Promise<number> {
  const host = new InstallHost(o.dryRun, (l) => out(`  ${l}`), exec);
  const binary = checkBinaryPath(o.binary ?? defaultBinaryPath());

  // 1. The config file: flags over the existing file, or over aws-ec2-ssh's when ours is new.
  const existing = existsSync(o.configFile) ? readFileSync(o.configFile, 'utf8') : null;
  const legacyText = existing === null && o.configFile === DEFAULT_CONFIG && existsSync(LEGACY_CONFIG) ? readFileSync(LEGACY_CONFIG, 'utf8') : null;
  if (legacyText !== null) out(`importing the settings of ${LEGACY_CONFIG}`);
  const text = applySettings(existing ?? legacyText ?? '', o.settings, o.configFile);
  const { config, warnings } = buildConfig(o.configFile, parseConfigText(text, o.configFile));
  // EC2 Instance Connect: the vendor's command that iam-ssh's displaces is chained, not lost.
  const chain = chainSetting(await findVendorCommand(o.sshdConfig, { mode: config.keysMode, binary, commandUser: COMMAND_USER, keysFileDir: config.keysFileDir }), config.keysMode, text, out);
  const configText = chain ? applySettings(text, [chain], o.configFile) : text;
  const keysChain = chain ? buildConfig(o.configFile, parseConfigText(configText, o.configFile)).config.keysChainCommand : config.keysChainCommand;
  for (const w of warnings) out(`warning: ${w}`);
  const previous = readManifest(config.stateDir);

  // aws-ec2-ssh: a schedule of it that install may not move aside stops install before any change.
  const predecessor = scanLegacy({ stateDir: config.stateDir, sshdConfig: o.sshdConfig });
  const stuck = predecessor.schedules.filter((s) => !s.movable);
  if (stuck.length > 0) {
    for (const s of stuck) {
      for (const l of s.lines) out(`error: ${s.path}:${l.line} runs aws-ec2-ssh's import_users.sh: ${l.text}`);
    }
    out(`error: nothing changed. aws-ec2-ssh's sync must never run beside iam-ssh's (it deletes accounts of its marker group with userdel --remove): delete ${stuck.length === 1 ? 'that line' : 'those lines'} (install moves only ${LEGACY_CRON_FILE} aside, whole), then run install again`);
    return 1;
  }
  for (const line of predecessorReport(predecessor, legacyText !== null, o.configFile)) out(line);

  out(`${o.dryRun ? 'would install' : 'installing'} iam-ssh as ${binary}`);
  const manifest: InstallManifest = {
    version: 1,
    binary: { path: binary, created: previous?.binary.created ?? !existsSync(binary) },
    config: { path: o.configFile, created: previous?.config.created ?? existing === null },
    sshd: previous?.sshd ?? null,
    pam: previous?.pam ?? null,
    commandUser: { name: COMMAND_USER, created: previous?.commandUser.created ?? false },
    dirs: previous?.dirs ?? [],
    scheduler: previous?.scheduler ?? { kind: 'none' },
    ...(previous?.legacy ? { legacy: previous.legacy } : {}),
  };
  if (o.source !== binary) host.copyExecutable(o.source, binary);
  const configChanged = host.writeFile(o.configFile, configText, 0o644);

  // 2. The unprivileged user that sshd runs the keys command as, and the directories.
  if (await ensureCommandUser(host)) manifest.commandUser.created = true;
  const ids = (await commandUserIds(host)) ?? { uid: 0, gid: 0 };
  for (const [dir, mode, owner] of [[config.stateDir, 0o755, { uid: 0, gid: 0 }], [config.cacheDir, 0o700, ids]] as const) {
    const isNew = !existsSync(dir);
    host.mkdir(dir, mode, owner);
    if (isNew && !manifest.dirs.includes(dir)) manifest.dirs.push(dir);
  }

  // 3. aws-ec2-ssh's schedule goes in the step where iam-ssh takes over the accounts, before
  // the first sync: the two never run together. Then users, then sshd: a login that sshd
  // sends our way finds its account.
  const moved = moveScheduleAside(host, predecessor);
  const kept = [...predecessor.kept, ...moved.map((m) => m.to)];
  const scheduler = o.scheduler === 'auto' ? detectScheduler() : o.scheduler;
  // Under systemd the first sync runs as its unit, as every later run does: confined the same
  // way and logged to the journal. The unit reads the default config file only.
  const syncAsUnit = scheduler === 'systemd' && o.configFile === DEFAULT_CONFIG;
  try {
    await waitForImports(host, out);
    let syncCode = 0;
    if (o.sync && (configChanged || !existsSync(`${config.stateDir}/users.json`))) {
      if (syncAsUnit) {
        await writeUnits(host, binary);
        syncCode = await firstSyncAsUnit(host);
      } else {
        syncCode = (await host.runPassThrough(binary, ['--config', o.configFile, 'sync', '--wait', '60'], `run the first sync: ${binary} sync`)) ?? 0;
      }
    }
    const changesBeforeSshd = host.changes.length;
    const sshd = await installSshd(host, { main: o.sshdConfig, previous: manifest.sshd, keys: { mode: config.keysMode, binary, commandUser: COMMAND_USER, keysFileDir: config.keysFileDir }, chain: keysChain }, out);
    manifest.sshd = sshd.change;
    const takeover = legacyRecord(manifest.legacy, moved, predecessor.kept, sshd.legacyMarked > 0 ? { path: o.sshdConfig, lines: sshd.legacyMarked } : null);
    if (takeover) manifest.legacy = takeover;
    // RECORD_GROUPS: sshd forces the recorded group through `iam-ssh record` (docs/recording.md).
    const record = await installRecordBlock(host, o.sshdConfig, manifest.record ?? null,
      config.recordGroups === null ? null : { group: config.recordLocalGroup, binary, configFile: o.configFile }, COMMAND_USER, out);
    if (record) manifest.record = record;
    else delete manifest.record;

    if (host.changes.length > changesBeforeSshd && !o.dryRun) out(`  ${await new SshdControl().reload(systemdRunning())}`);

    // 4. PAM login notifications, when any are configured.
    manifest.pam = await installPam(host, o.pamFile, binary, config.notifyGroups, o.configFile, manifest.pam);

    // 5. The schedule.
    manifest.scheduler = await installScheduler(host, scheduler, binary, out);
    const code = finish(host, config.stateDir, manifest, syncCode, binary, out);
    if (code !== 0) stillDisabled();
    return code;
  } catch (e) {
    stillDisabled();
    throw e;
  }

  /** After a failure, aws-ec2-ssh stays off: say so, and how to bring it back meanwhile. */
  function stillDisabled(): void {
    if (kept.length === 0 || o.dryRun) return;
    out(`note: aws-ec2-ssh's schedule stays disabled; run install again once the error is fixed, or bring it back: ${restoreCommands({ kept, sshd: predecessor.sshd }).join('; ')}`);
  }
}

/** Records what was installed, sums up, and reports a first sync that failed. */
function finish(host: InstallHost, stateDir: string, manifest: InstallManifest, syncCode: number, binary: string, out: (line: string) => void): number {
  host.writeFile(manifestPath(stateDir), manifestText(manifest), 0o600);
  if (host.changes.length === 0) out('nothing to change: already installed with these settings');
  else out(`${host.dryRun ? 'would change' : 'changed'} ${host.changes.length} item(s)`);
  if (syncCode !== 0) {
    // sshd is wired, but keys answers only for accounts a sync made: nobody logs in through IAM yet.
    out(`error: the first sync exited ${syncCode}: no IAM user can log in through iam-ssh until a sync succeeds; see its log lines above and run \`${binary} doctor\``);
    return 1;
  }
  return 0;
}

/** The notify-login hook is in sshd's PAM stack exactly when NOTIFY_GROUPS names someone. */
async function installPam(host: InstallHost, pamFile: string, binary: string, groups: string[] | 'all', configFile: string, previous: { path: string } | null): Promise<{ path: string } | null> {
  const wanted = groups === 'all' || groups.length > 0;
  if (!wanted && previous === null) return null;
  setNotifyHook(host, previous?.path ?? pamFile, wanted ? binary : null, configFile === DEFAULT_CONFIG ? undefined : configFile);
  return wanted ? { path: pamFile } : null;
}

/** Writes the unit files; systemd reloads them when one changed. */
async function writeUnits(host: InstallHost, binary: string): Promise<string[]> {
  const units = unitFiles(binary);
  let changed = false;
  for (const [name, text] of Object.entries(units)) changed = host.writeFile(`${UNIT_DIR}/${name}`, text, 0o644) || changed;
  if (changed) await host.run('systemctl', ['daemon-reload']);
  return Object.keys(units);
}

/** `systemctl start` of the sync unit waits for the run (Type=oneshot); sync's own exit code when it failed. */
async function firstSyncAsUnit(host: InstallHost): Promise<number> {
  const code = await host.runPassThrough('systemctl', ['start', SYNC_UNIT], `run the first sync as ${SYNC_UNIT} (its log: journalctl -u ${SYNC_UNIT})`);
  if (code === null || code === 0) return 0;
  const status = Number((await host.query('systemctl', ['show', '--property=ExecMainStatus', '--value', SYNC_UNIT])).stdout.trim());
  return Number.isInteger(status) && status > 0 ? status : code;
}

async function installScheduler(host: InstallHost, kind: Scheduler, binary: string, out: (l: string) => void): Promise<InstallManifest['scheduler']> {
  if (kind === 'systemd') {
    const units = await writeUnits(host, binary);
    for (const unit of ENABLED_UNITS) {
      const enabled = await host.query('systemctl', ['is-enabled', '--quiet', unit]);
      if (enabled.exitCode !== 0) await host.run('systemctl', ['enable', ...(unit.endsWith('.timer') ? ['--now'] : []), unit]);
    }
    return { kind: 'systemd', units };
  }
  if (kind === 'cron') {
    host.writeFile(CRON_FILE, cronText(binary, hostname()), 0o644);
    return { kind: 'cron', path: CRON_FILE };
  }
  out('warning: neither systemd nor cron found: run `iam-ssh sync` every 10 minutes by other means');
  return { kind: 'none' };
}

export const installCommand = (configFromEnv: string | undefined): CommandModule => ({
  command: 'install',
  describe: 'install this executable, configure sshd, PAM and the sync schedule, and run the first sync',
  builder: (y: Argv) => {
    for (const [flag, key, describe] of SETTING_FLAGS) y.option(flag, { type: 'string', requiresArg: true, describe: `${describe} [${key}]` });
    return y
      .option('binary', { type: 'string', requiresArg: true, describe: 'where to install the executable (default /usr/local/bin/iam-ssh; /opt/bin/iam-ssh on Flatcar)' })
      .option('sshd-config', { type: 'string', default: DEFAULT_SSHD_CONFIG, requiresArg: true, describe: "sshd's main config file" })
      .option('pam-file', { type: 'string', default: '/etc/pam.d/sshd', requiresArg: true, describe: "sshd's PAM file, for --notify-groups" })
      .option('scheduler', { choices: ['auto', 'systemd', 'cron', 'none'], default: 'auto', describe: 'what runs sync every 10 minutes' })
      .option('sync', { type: 'boolean', default: true, describe: 'run the first sync (--no-sync: skip it)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print every file and command it would touch, change nothing' })
      .epilogue(
        'Run as root, --dry-run too (it plans with root\'s view of the host); otherwise it stops with exit 2.\n' +
          'Settings not given keep their value in the existing config file. Run it again at any time: it changes only what differs.\n' +
          `Where aws-ec2-ssh is installed, install moves its cron file ${LEGACY_CRON_FILE} into STATE_DIR before the first sync and comments out its sshd lines; its scripts and /etc/aws-ec2-ssh.conf stay.`,
      );
  },
  handler: async (args) => {
    if (refuseUnlessRoot('install')) {
      process.exitCode = 2;
      return;
    }
    const a = args as Record<string, unknown>;
    const settings: [string, string][] = [];
    for (const [flag, key] of SETTING_FLAGS) if (typeof a[flag] === 'string') settings.push([key, a[flag] as string]);
    process.exitCode = await runInstall(
      {
        configFile: (a.config as string | undefined) ?? configFromEnv ?? DEFAULT_CONFIG,
        settings,
        source: process.execPath,
        binary: a.binary as string | undefined,
        sshdConfig: a['sshd-config'] as string,
        pamFile: a['pam-file'] as string,
        scheduler: a.scheduler as Scheduler | 'auto',
        sync: a.sync as boolean,
        dryRun: a['dry-run'] as boolean,
      },
      (line) => process.stdout.write(line + '\n'),
    );
  },
});
