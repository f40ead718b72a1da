/** The command line: yargs only. Every command is a module of its feature, registered the same way. */
import yargs from 'yargs';
import { createIamDirectory } from '../aws/iam';
import { keysCommand } from '../keys/command';
import { syncCommand } from '../sync/command';
import { installCommand } from '../install/install';
import { uninstallCommand } from '../install/uninstall';
import { doctorCommand } from '../doctor/command';
import { notifyLoginCommand } from '../notify/command';
import { recordCommand, replayCommand, sessionsCommand } from '../record/command';
import { publishCommand } from '../publish/command';

declare const IAM_SSH_VERSION: string;
export const VERSION = typeof IAM_SSH_VERSION === 'string' ? IAM_SSH_VERSION : '0.0.0-dev';

export interface Env {
  /** IAM_SSH_CONFIG, read once by the entry point and nowhere else. */
  configFromEnv: string | undefined;
}

/** A command line that does not parse: reported once, exit status 2. */
class UsageError extends Error {}

export async function main(argv: string[], env: Env): Promise<number> {
  try {
    process.exitCode = 0;
    await parser(argv, env).parseAsync();
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`iam-ssh: ${e.message}\nRun 'iam-ssh --help' for usage.\n`);
    return 2;
  }
}

function parser(argv: string[], env: Env) {
  const fromEnv = env.configFromEnv;
  return yargs(argv)
    .scriptName('iam-ssh')
    .usage('$0 <command> [options]\n\nSSH access to this instance from AWS IAM users and groups.')
    .option('config', {
      type: 'string',
      describe: 'config file (default /etc/iam-ssh.conf, else /etc/aws-ec2-ssh.conf); env IAM_SSH_CONFIG',
      global: true,
      requiresArg: true,
    })
    .command(keysCommand(fromEnv, createIamDirectory))
    .command(syncCommand(fromEnv))
    .command(installCommand(fromEnv))
    .command(uninstallCommand(fromEnv))
    .command(doctorCommand(fromEnv))
    .command(notifyLoginCommand(fromEnv))
    .command(recordCommand(fromEnv))
    .command(replayCommand())
    .command(sessionsCommand(fromEnv))
    .command(publishCommand(fromEnv))
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
}
