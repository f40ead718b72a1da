/**
 * `iam-ssh doctor`: gathers the facts of the host through the same adapters the commands use,
 * runs the pure checks (./checks*.ts), reports, and sets the exit status.
 */
import type { Argv, CommandModule } from 'yargs';
import type { Config } from '../config/config';
import { defaults } from '../config/config';
import { resolveForReport } from '../config/resolve';
import { DEFAULT_CONFIG, LEGACY_CONFIG } from '../config/load';
import { exec } from '../platform/exec';
import { readLastSync } from '../state/last-sync';
import { readSnapshotState } from '../state/snapshot-state';
import { readTrustRoot } from '../snapshot/fetch';
import { formatChainCommand } from '../config/values';
import { readLogs } from './gather-logs';
import { configStat, pathChain, readHostKeys, readLegacy, readSchedule, readSshd, readUser, statPath } from './gather-host';
import { commandUserName, runChecks } from './checks';
import { renderJson, renderTable } from './render';
import type { DoctorFacts, SshdFact } from './facts';

/** The sync timer's interval (systemd/iam-ssh-sync.timer). */
const SYNC_INTERVAL_MS = 10 * 60_000;

export interface DoctorOptions {
  configFile: string | undefined;
  json: boolean;
}

export async function runDoctor(opts: DoctorOptions): Promise<number> {
  let config: Config = defaults();
  let error: string | null = null;
  try {
    // As keys sees it: the file plus the last good SSM/tag layers that sync kept (or the file
    // alone when there are none yet; the last-sync check then tells why).
    config = (await resolveForReport(opts.configFile, { log: () => undefined })).config;
  } catch (e) {
    error = (e as Error).message;
  }
  const facts = await gatherFacts(config, error, opts.configFile);
  const results = runChecks(facts);
  process.stdout.write(opts.json ? renderJson(results) : renderTable(results));
  if (error) return 2;
  return results.some((c) => c.status === 'fail') ? 1 : 0;
}

async function gatherFacts(config: Config, configError: string | null, explicitFile: string | undefined): Promise<DoctorFacts> {
  const isRoot = process.getuid?.() === 0;
  const sshd: SshdFact = isRoot ? await readSshd(exec, config.stateDir) : { ran: false, reason: 'not running as root' };
  const settings = sshd.ran && sshd.exitCode === 0 ? sshd.settings : {};
  const keysMode = config.keysMode;
  const commandLine = settings.authorizedkeyscommand?.[0];
  // Without sshd's word (not root, or sshd -T failed), judge where this binary itself is installed.
  const program = commandLine && commandLine !== 'none' ? commandLine.split(/\s+/)[0]! : sshd.ran && sshd.exitCode === 0 ? null : process.execPath;
  const userName = commandUserName(settings);
  const facts: DoctorFacts = {
    now: Date.now(),
    isRoot,
    keysMode,
    keysFileDir: config.keysFileDir,
    selfPath: process.execPath,
    config: {
      file: configError ? (explicitFile ?? null) : config.file, error: configError, stat: configError ? null : configStat(config),
      searched: explicitFile ? [explicitFile] : [DEFAULT_CONFIG, LEGACY_CONFIG],
    },
    sshd,
    commandPath: program ? pathChain(program) : null,
    commandUser: { name: userName, entry: await readUser(exec, userName) },
    chain: config.keysChainCommand ? { command: formatChainCommand(config.keysChainCommand), path: pathChain(config.keysChainCommand.program) } : null,
    hostKeys: isRoot ? await readHostKeys(exec, settings, sshd.ran ? sshd.stderr : '') : [],
    stateDir: statPath(config.stateDir),
    cacheDir: statPath(config.cacheDir),
    schedule: await readSchedule(exec),
    legacy: readLegacy(config.stateDir),
    lastSync: readLastSync(config.stateDir),
    ...(config.snapshotUrl ? { snapshot: { url: config.snapshotUrl, maxAgeMs: config.snapshotMaxAgeMs, state: readSnapshotState(config.stateDir), publicKeyError: trustRootError(config.snapshotPublicKey) } } : {}),
    syncIntervalMs: SYNC_INTERVAL_MS,
    logs: readLogs(),
    aws: null,
  };
  if (!configError) {
    const { probeAws } = await import('./gather-aws');
    facts.aws = await probeAws(config, config.ssmConfigPath);
  }
  return facts;
}

interface DoctorArgs {
  config?: string;
  json: boolean;
}

export function doctorCommand(configFromEnv: string | undefined): CommandModule<object, DoctorArgs> {
  return {
    command: 'doctor',
    describe: 'check sshd, the binary, the command user, host keys, directories, AWS access, the clock and the last sync',
    builder: (y: Argv) =>
      y
        .option('json', { type: 'boolean', default: false, describe: 'print the results as one JSON document' })
        .epilogue(
          'Run as root. Each check prints ok, WARN, FAIL or skip, with a fix under problems; see docs/troubleshooting.md.\n' +
            'Exit status: 0 no check failed (warnings allowed); 1 a check failed; 2 the config does not load, or usage.',
        ) as unknown as Argv<DoctorArgs>,
    handler: async (args) => {
      process.exitCode = await runDoctor({ configFile: args.config ?? configFromEnv, json: args.json });
    },
  };
}

function trustRootError(path: string | null): string | null {
  try {
    readTrustRoot(path);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
