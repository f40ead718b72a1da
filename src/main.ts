/** Entry point of the single executable. */
import { parseLoginArgv } from './cli/login-argv';
import { keysCommand } from './cli/keys';
import { loadFull } from './full/load';

async function run(argv: string[]): Promise<number> {
  const configFromEnv = process.env.IAM_SSH_CONFIG || undefined;
  const login = parseLoginArgv(argv);
  if (login) {
    await keysCommand(login.user, login.fingerprint, login.config ?? configFromEnv, login.stats);
    return 0;
  }
  // pam_exec runs `iam-ssh [--config FILE] notify-login` in every login: no yargs either.
  if (argv.at(-1) === 'notify-login' && (argv.length === 1 || (argv.length === 3 && argv[0] === '--config'))) {
    const { notifyLoginCommand } = await import('./cli/notify-login');
    await notifyLoginCommand(process.env, argv.length === 3 ? argv[1] : configFromEnv);
    return 0;
  }
  const { main } = await loadFull();
  return main(argv, { configFromEnv });
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`iam-ssh: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
