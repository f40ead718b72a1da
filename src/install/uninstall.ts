/**
 * `iam-ssh uninstall`: removes what `install` recorded in its manifest and nothing else.
 * sshd_config comes back byte for byte, except that aws-ec2-ssh's lines, if install commented
 * them out, stay so: uninstall prints how to bring aws-ec2-ssh back rather than doing it. Users
 * created by sync stay (with their homes) unless --remove-users; then the registry of accounts
 * sync created says which ones.
 */
import type { Argv, CommandModule } from 'yargs';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { exec } from '../platform/exec';
import { InstallHost, refuseUnlessRoot } from './host';
import { readManifest, manifestPath } from './manifest';
import { uninstallSshd, sshdMainFile, DEFAULT_SSHD_CONFIG } from './sshd-edits';
import { uninstallRecordBlock } from './sshd-record-block';
import { scanLegacy } from './legacy';
import { restoreCommands } from './legacy-text';
import { SshdControl } from '../platform/sshd';
import { setNotifyHook } from './pam';
import { systemdRunning, UNIT_DIR } from './scheduler';
import { Registry } from '../sync/registry';
import { Accounts } from '../sync/accounts';
import { COMMAND_USER } from './command-user';
import { loadConfig, DEFAULT_CONFIG } from '../config/load';

export interface UninstallOptions {
  configFile: string | undefined;
  removeUsers: boolean;
  dryRun: boolean;
}

export async function runUninstall(o: UninstallOptions, out: (line: string) => void): Promise<number> {
  const { config } = loadConfig(o.configFile);
  const manifest = readManifest(config.stateDir);
  if (!manifest) {
    out(`nothing to uninstall: no ${manifestPath(config.stateDir)} (iam-ssh install was not run here, or with another STATE_DIR)`);
    return 1;
  }
  const host = new InstallHost(o.dryRun, (l) => out(`  ${l}`), exec);
  out(`${o.dryRun ? 'would uninstall' : 'uninstalling'} iam-ssh (${manifest.binary.path})`);

  // Stop the schedule first, so no sync starts while the rest goes away.
  const s = manifest.scheduler;
  if (s.kind === 'systemd') {
    if (systemdRunning()) {
      for (const unit of s.units) {
        await host.run('systemctl', ['disable', '--now', unit]).catch((e: Error) => out(`warning: ${e.message}`));
      }
    }
    for (const unit of s.units) host.removeFile(`${UNIT_DIR}/${unit}`);
    if (systemdRunning()) await host.run('systemctl', ['daemon-reload']);
  } else if (s.kind === 'cron') host.removeFile(s.path);

  if (manifest.record) uninstallRecordBlock(host, manifest.record);
  if (manifest.sshd) {
    await uninstallSshd(host, manifest.sshd, out);
    if (!o.dryRun) {
      const sshd = new SshdControl();
      // The configuration that remains: the main file sshd reads, never the drop-in just removed.
      const invalid = await sshd.test(sshdMainFile(manifest.sshd));
      if (invalid) out(`warning: sshd -t now reports: ${invalid}`);
      out(`  ${await sshd.reload(systemdRunning())}`);
    }
  }
  if (manifest.pam) setNotifyHook(host, manifest.pam.path, null);

  const registry = new Registry(config.stateDir);
  if (o.removeUsers) {
    const accounts = new Accounts(config, exec);
    for (const name of Object.keys(registry.all())) {
      host.changes.push(name);
      out(`  ${o.dryRun ? 'would remove' : 'remove'} user ${name}${config.removeHome ? ' and its home' : ' (home kept)'}`);
      if (!o.dryRun) await accounts.removeUser(name, !config.removeHome);
    }
    host.removeFile(config.sudoersFile);
  }
  if (manifest.commandUser.created) await host.run('userdel', ['--force', '--', COMMAND_USER], `remove the system user ${COMMAND_USER}`);

  // Directories: the cache always; STATE_DIR only when no account of sync's is left behind,
  // since its registry is what lets a later install manage (and never mistake) those users, and
  // never the only copy of aws-ec2-ssh's cron file, kept there.
  const predecessor = scanLegacy({ stateDir: config.stateDir, sshdConfig: manifest.sshd ? sshdMainFile(manifest.sshd) : DEFAULT_SSHD_CONFIG });
  const usersLeft = !o.removeUsers && Object.keys(registry.all()).length > 0;
  const keepLegacy = predecessor.kept.length > 0;
  for (const dir of [...manifest.dirs].reverse()) {
    if (dir === config.stateDir && (usersLeft || keepLegacy)) continue;
    host.removeTree(dir);
  }
  if (usersLeft) {
    host.removeFile(manifestPath(config.stateDir));
    out(`kept ${config.stateDir}: it records the users sync created, which stay (uninstall --remove-users removes them)`);
  } else if (keepLegacy && manifest.dirs.includes(config.stateDir)) {
    for (const name of readdirSync(config.stateDir, { withFileTypes: true })) {
      if (name.name === basename(predecessor.keptDir)) continue;
      if (name.isDirectory()) host.removeTree(join(config.stateDir, name.name));
      else host.removeFile(join(config.stateDir, name.name));
    }
    out(`kept ${predecessor.keptDir}: it holds aws-ec2-ssh's cron file`);
  } else if (keepLegacy) host.removeFile(manifestPath(config.stateDir));
  if (manifest.config.created) host.removeFile(manifest.config.path);
  if (manifest.binary.created) host.removeFile(manifest.binary.path);
  out(`${o.dryRun ? 'would change' : 'changed'} ${host.changes.length} item(s)`);
  // aws-ec2-ssh is not brought back behind the operator's back: say how, if that is wanted.
  const restore = restoreCommands(predecessor);
  if (restore.length > 0) out([`aws-ec2-ssh stays disabled; to bring it back:`, ...restore.map((c) => `  ${c}`)].join('\n'));
  return 0;
}

export const uninstallCommand = (configFromEnv: string | undefined): CommandModule => ({
  command: 'uninstall',
  describe: 'remove what install added; users created by sync stay unless --remove-users',
  builder: (y: Argv) =>
    y
      .option('remove-users', { type: 'boolean', default: false, describe: 'also remove the users sync created (homes kept unless REMOVE_HOME=yes)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print what it would remove, change nothing' })
      .epilogue('Run as root, --dry-run too; otherwise it stops with exit 2. If install disabled aws-ec2-ssh, it stays disabled: uninstall prints how to bring it back.'),
  handler: async (args) => {
    if (refuseUnlessRoot('uninstall')) {
      process.exitCode = 2;
      return;
    }
    const a = args as Record<string, unknown>;
    process.exitCode = await runUninstall(
      { configFile: (a.config as string | undefined) ?? configFromEnv ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined), removeUsers: a['remove-users'] as boolean, dryRun: a['dry-run'] as boolean },
      (line) => process.stdout.write(line + '\n'),
    );
  },
});
