/**
 * `iam-ssh keys <user> [fingerprint]`: sshd's AuthorizedKeysCommand. This file is sshd's
 * contract (exit 0 always, output only keys, never outlive the budget); the lookup itself is
 * ./lookup.ts.
 */
import { writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { CommandModule } from 'yargs';
import { defaults } from '../config/config';
import { resolveConfig } from '../config/resolve';
import { stderrLogger, errText } from '../util/log';
import { HardDeadline, processStartMs } from '../util/deadline';
import { callStats, formatCalls } from '../aws/call-stats';
import type { IamDirectory, IamFactory } from '../aws/iam';
import { lookupKeys } from './lookup';
import { checkManagedAccount } from './managed-account';
import { CHAINED_ENV, startChain, type ChainRun } from './chain';

/**
 * Niceness of a process that waits for another one's IAM round: a tenth of a normal process's
 * CPU share, so the refresher is not starved by a burst, yet a waiter still runs on a busy host.
 */
const WAITER_NICENESS = 10;
/** At most this long is spent handing the audit lines to journald at exit. */
const FLUSH_MS = 200;
/** The chained command must have ended this long before the hard stop, so that its lines still get out. */
const CHAIN_MARGIN_MS = 250;

export interface KeysArgs {
  user: string;
  fingerprint: string | undefined;
  configFile: string | undefined;
  /** --stats: print the AWS calls of the run on stderr. */
  stats: boolean;
}

/**
 * sshd's contract. `createIam` is injected by the entry point: the login bundle passes a
 * loader of the full bundle (which carries the SDK), the full bundle its own factory.
 */
export async function runKeys(args: KeysArgs, createIam: IamFactory): Promise<void> {
  const { user, fingerprint, configFile, stats } = args;
  const log = stderrLogger('keys', undefined, 'login');
  let chain: ChainRun | null = null;
  const deadline = new HardDeadline(processStartMs(), defaults().keysTimeoutMs, (budgetMs) => {
    log.log('error', 'keys.timeout', { user: user.slice(0, 64), budgetMs });
    chain?.kill();
    process.exit(0);
  });
  let iam: IamDirectory | null = null;
  const out = (data: string | Buffer) => writeAll(typeof data === 'string' ? Buffer.from(data) : data, deadline.at);
  try {
    // The last good SSM/tag layers from disk: a login never waits on SSM or instance metadata.
    const { config, warnings } = await resolveConfig({ file: configFile, remote: 'cached', log });
    for (const w of warnings) log.log('warn', 'config.warning', { message: w });
    deadline.setBudget(config.keysTimeoutMs);
    // The vendor's command (KEYS_CHAIN_COMMAND) runs beside the lookup, whatever the lookup
    // decides (EC2 Instance Connect serves ec2-user, which iam-ssh never manages); its lines
    // follow IAM's. A keys run that a chained command started chains nothing.
    if (config.keysChainCommand && process.env[CHAINED_ENV] !== '1') {
      chain = startChain(config.keysChainCommand, { user, fingerprint, until: deadline.at - CHAIN_MARGIN_MS, log });
    }
    await lookupKeys(user, fingerprint, {
      config,
      log,
      // One deadline for every part: the lookup gives up (and serves what is stale) before the hard stop.
      deadline: deadline.at,
      iam: async ({ retry }) => (iam = await createIam(config, config.cacheDir, { maxAttempts: retry ? 2 : 1 })),
      out,
      managedAccount: (name) => checkManagedAccount(name, config),
      // A waiter only polls a file; at the lowest priority it leaves the CPU to the process
      // doing the IAM round, which matters when a burst of logins starts hundreds at once.
      whileWaiting: () => setPriority(WAITER_NICENESS),
    });
  } catch (e) {
    log.log('error', 'keys.failed_closed', { user: user.slice(0, 64), error: errText(e) });
  }
  try {
    await chain?.finish(out);
  } catch (e) {
    log.log('error', 'keys.chain_failed', { user: user.slice(0, 64), error: errText(e) });
  } finally {
    deadline.clear();
    // Under sshd the log lines go to journald (stderr is /dev/null): let them leave before exit.
    await log.flush?.(FLUSH_MS);
    // --stats: for a person at a terminal; stdout belongs to sshd, so this goes to stderr.
    if (stats) process.stderr.write(`iam-ssh keys: ${formatCalls(callStats({ iam: (iam as IamDirectory | null)?.calls }))}\n`);
  }
}

/** Writes to sshd's pipe, through partial writes and a full pipe, until the hard stop. */
function writeAll(data: Buffer, until: number): void {
  let rest = data;
  while (rest.length > 0 && Date.now() < until) {
    try {
      rest = rest.subarray(writeSync(1, rest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

interface KeysYargs {
  user: string;
  fingerprint?: string;
  stats: boolean;
  config?: string;
}

/** The yargs module, for the forms that src/keys/login-argv.ts leaves to the full parser. */
export function keysCommand(configFromEnv: string | undefined, createIam: IamFactory): CommandModule<object, KeysYargs> {
  return {
    command: 'keys <user> [fingerprint]',
    describe: "print the IAM SSH public keys of a local user (sshd's AuthorizedKeysCommand)",
    builder: (y) =>
      y
        .positional('user', { type: 'string', demandOption: true, describe: 'local user name (sshd: %u)' })
        .positional('fingerprint', { type: 'string', describe: 'SHA256 fingerprint of the key being tried (sshd: %f)' })
        .option('stats', { type: 'boolean', default: false, describe: 'print the AWS calls of this run on stderr' })
        .epilogue(
          'sshd_config:\n  AuthorizedKeysCommand /usr/local/bin/iam-ssh keys %u %f\n  AuthorizedKeysCommandUser iam-ssh\n\n' +
            'Prints nothing and exits 0 on every failure (fail closed); diagnostics are JSON lines on stderr.',
        ) as never,
    handler: async (a) => {
      await runKeys({ user: String(a.user), fingerprint: a.fingerprint === undefined ? undefined : String(a.fingerprint), configFile: a.config ?? configFromEnv, stats: a.stats }, createIam);
    },
  };
}
