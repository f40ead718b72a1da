/**
 * Entry point of the single executable and composition root of the login path: `keys`,
 * `notify-login` and `record` run from this small bundle; everything else is in the full bundle
 * (./full.ts), loaded only when needed. notify-login and record are imported when they run, so
 * that a keys cache hit never loads node:http, node:https, node:tty or node:child_process (each
 * costs milliseconds of start-up).
 */
import { parseLoginArgv } from './keys/login-argv';
import { runKeys } from './keys/command';
import { loadFull } from './load-full';
import type { IamFactory } from './aws/iam';
import { stderrLogger } from './util/log';
import { versionInfo, versionRequest, versionText } from './version';

// Filled in by scripts/build.mjs; absent when run from source.
declare const IAM_SSH_VERSION: string | undefined;
declare const IAM_SSH_COMMIT: string | undefined;
declare const IAM_SSH_TARGET: string | undefined;

/** IAM for the keys lookup: the SDK lives in the full bundle, loaded on a cache miss only. */
const createIamFromFull: IamFactory = async (...args) => (await loadFull()).createIamDirectory(...args);

// Every line on stderr is one JSON object, Node's own warnings included.
process.removeAllListeners('warning');
process.on('warning', (w) => stderrLogger('node').log('warn', 'node.warning', { name: w.name, message: w.message }));

async function run(argv: string[]): Promise<number> {
  const configFromEnv = process.env.IAM_SSH_CONFIG || undefined;
  const version = versionRequest(argv);
  if (version) {
    const build = {
      version: typeof IAM_SSH_VERSION === 'string' ? IAM_SSH_VERSION : undefined,
      commit: typeof IAM_SSH_COMMIT === 'string' ? IAM_SSH_COMMIT : undefined,
      target: typeof IAM_SSH_TARGET === 'string' ? IAM_SSH_TARGET : undefined,
    };
    process.stdout.write(versionText(versionInfo(build, { node: process.version, platform: process.platform, arch: process.arch }), version));
    return 0;
  }
  const login = parseLoginArgv(argv);
  if (login) {
    await runKeys({ user: login.user, fingerprint: login.fingerprint, configFile: login.config ?? configFromEnv, stats: login.stats === true }, createIamFromFull);
    return 0;
  }
  // pam_exec runs `iam-ssh [--config FILE] notify-login` in every login: no yargs either.
  if (argv.at(-1) === 'notify-login' && (argv.length === 1 || (argv.length === 3 && argv[0] === '--config'))) {
    const { runNotifyLogin } = await import('./notify/command');
    await runNotifyLogin(process.env, argv.length === 3 ? argv[1] : configFromEnv);
    return 0;
  }
  // sshd's ForceCommand for the recorded group, at every session start: no yargs either.
  if (argv.at(-1) === 'record' && (argv.length === 1 || (argv.length === 3 && argv[0] === '--config'))) {
    const { recordSession } = await import('./record/recorder');
    return recordSession(argv.length === 3 ? argv[1] : configFromEnv);
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
