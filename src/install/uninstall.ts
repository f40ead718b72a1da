/**
 * `iam-ssh uninstall`: removes what `install` recorded in its manifest and nothing else.
 * sshd_config comes back byte for byte. Users created by sync stay (with their homes) unless
 * --remove-users; then the registry of accounts sync created says which ones.
 */
import type { Argv, CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { exec } from '../platform/exec';
import { InstallHost, refuseUnlessRoot } from './host';
import { readManifest, manifestPath } from './manifest';
import { uninstallSshd, sshdMainFile } from './sshd-edits';
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
  // since its registry is what lets a later install manage (and never mistake) those users.
  const keepState = !o.removeUsers && Object.keys(registry.all()).length > 0;
  for (const dir of [...manifest.dirs].reverse()) {
    if (dir === config.stateDir && keepState) continue;
    host.removeTree(dir);
  }
  if (keepState) {
    host.removeFile(manifestPath(config.stateDir));
    out(`kept ${config.stateDir}: it records the users sync created, which stay (uninstall --remove-users removes them)`);
  }
  if (manifest.config.created) host.removeFile(manifest.config.path);
  if (manifest.binary.created) host.removeFile(manifest.binary.path);
  out(`${o.dryRun ? 'would change' : 'changed'} ${host.changes.length} item(s)`);
  return 0;
}

export const uninstallCommand = (configFromEnv: string | undefined): CommandModule => ({
  command: 'uninstall',
  describe: 'remove what install added; users created by sync stay unless --remove-users',
  builder: (y: Argv) =>
    y
      .option('remove-users', { type: 'boolean', default: false, describe: 'also remove the users sync created (homes kept unless REMOVE_HOME=yes)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print what it would remove, change nothing' })
      .epilogue('Run as root, --dry-run too; otherwise it stops with exit 2.'),
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
