/** Entry point of the single executable. */
import { parseLoginArgv } from './cli/login-argv';
import { keysCommand } from './cli/keys';
import { loadFull } from './full/load';

async function run(argv: string[]): Promise<number> {
  const configFromEnv = process.env.IAM_SSH_CONFIG || undefined;
  const login = parseLoginArgv(argv);
  if (login) {
    await keysCommand(login.user, login.fingerprint, login.config ?? configFromEnv);
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
