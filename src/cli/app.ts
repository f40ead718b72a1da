/** The command line: yargs wiring only; each command lives in its own file. */
import yargs from 'yargs';
import { installCommand } from './install';
import { uninstallCommand } from './uninstall';
import { keysCommand } from './keys';
import { doctorCommand } from './doctor';
import { notifyLoginYargs } from './notify-login';

declare const IAM_SSH_VERSION: string;
export const VERSION = typeof IAM_SSH_VERSION === 'string' ? IAM_SSH_VERSION : '0.0.0-dev';

export interface Env {
  /** IAM_SSH_CONFIG, read once here and nowhere else. */
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
  return yargs(argv)
    .scriptName('iam-ssh')
    .usage('$0 <command> [options]\n\nSSH access to this instance from AWS IAM users and groups.')
    .option('config', {
      type: 'string',
      describe: 'config file (default /etc/iam-ssh.conf, else /etc/aws-ec2-ssh.conf); env IAM_SSH_CONFIG',
      global: true,
      requiresArg: true,
    })
    .command(
      'keys <user> [fingerprint]',
      "print the IAM SSH public keys of a local user (sshd's AuthorizedKeysCommand)",
      (y) =>
        y
          .positional('user', { type: 'string', demandOption: true, describe: 'local user name (sshd: %u)' })
          .positional('fingerprint', { type: 'string', describe: 'SHA256 fingerprint of the key being tried (sshd: %f)' })
          .option('stats', { type: 'boolean', default: false, describe: 'print the AWS calls of this run on stderr' })
          .epilogue(
            'sshd_config:\n  AuthorizedKeysCommand /usr/local/bin/iam-ssh keys %u %f\n  AuthorizedKeysCommandUser iam-ssh\n\n' +
              'Prints nothing and exits 0 on every failure (fail closed); diagnostics are JSON lines on stderr.',
          ),
      async (args) => {
        await keysCommand(String(args.user), args.fingerprint === undefined ? undefined : String(args.fingerprint), args.config ?? env.configFromEnv, args.stats);
      },
    )
    .command(
      'sync',
      'create, update and remove local users, groups and sudo rights from IAM group membership',
      (y) =>
        y
          .option('dry-run', { type: 'boolean', default: false, describe: 'print the plan and change nothing' })
          .option('json', { type: 'boolean', default: false, describe: 'with --dry-run: print the plan as JSON' })
          .option('force', { type: 'boolean', default: false, describe: 'allow removing more than MAX_REMOVALS users, or every managed user' })
          .option('wait', { type: 'number', default: 30, describe: 'seconds to wait for a running sync before skipping' })
          .option('stats', { type: 'boolean', default: false, describe: 'print the AWS calls of this run, by service and action' })
          .epilogue(
            'Exit status: 0 in sync; 1 an IAM read or a change failed (nothing was removed if IAM was incomplete); ' +
              '2 bad config or usage; 3 removals refused by MAX_REMOVALS or the empty-result guard.',
          ),
      async (args) => {
        const { syncCommand } = await import('./sync');
        process.exitCode = await syncCommand({
          configFile: args.config ?? env.configFromEnv, dryRun: args['dry-run'], json: args.json, force: args.force, lockWaitMs: Math.max(0, args.wait) * 1000, stats: args.stats,
        });
      },
    )
    .command(installCommand(env.configFromEnv))
    .command(uninstallCommand(env.configFromEnv))
    .command(doctorCommand(env.configFromEnv))
    .command(notifyLoginYargs(env.configFromEnv))
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

