/**
 * `iam-ssh publish`: one IAM read for the whole fleet, written to S3 as the signed access
 * snapshot that instances read in `sync` (docs/fleet.md).
 */
import type { CommandModule } from 'yargs';
import type { Config } from '../config/config';
import { resolveConfig, RemoteConfigError } from '../config/resolve';
import { awsRemoteReaders } from '../aws/remote-readers';
import { stderrLogger, errText } from '../util/log';
import { formatCalls } from '../aws/call-stats';
import { createPublishDeps, publishSnapshot, type PublishOutcome } from './publish';

export interface PublishOptions {
  configFile: string | undefined;
  force: boolean;
}

export const PUBLISH_EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

export function publishExitCode(o: PublishOutcome): number {
  if (o.status === 'published' || o.status === 'unchanged') return PUBLISH_EXIT.ok;
  return o.status === 'refused' ? PUBLISH_EXIT.refused : PUBLISH_EXIT.failed;
}

export async function runPublish(opts: PublishOptions): Promise<number> {
  const log = stderrLogger('publish');
  let config: Config;
  try {
    const loaded = await resolveConfig({ file: opts.configFile, remote: 'fetch', log, deps: { readers: awsRemoteReaders, save: false } });
    loaded.warnings.forEach((w) => log.log('warn', 'config.warning', { message: w }));
    config = loaded.config;
  } catch (e) {
    log.log('error', e instanceof RemoteConfigError ? 'config.remote_failed' : 'config.error', { error: errText(e) });
    return e instanceof RemoteConfigError ? PUBLISH_EXIT.failed : PUBLISH_EXIT.usage;
  }
  if (!config.snapshotUrl || !config.snapshotKmsKey) {
    log.log('error', 'config.error', { error: 'publish needs SNAPSHOT_URL and SNAPSHOT_KMS_KEY in the config file' });
    return PUBLISH_EXIT.usage;
  }
  const outcome = await publishSnapshot(config, await createPublishDeps(config, log, { force: opts.force }));
  const what = outcome.status === 'published' ? `published serial ${outcome.serial} (${outcome.users} users)`
    : outcome.status === 'unchanged' ? `unchanged: serial ${outcome.serial} stands (${outcome.users} users)`
      : `${outcome.status}: ${outcome.reason ?? ''}`;
  process.stdout.write(`${what}; ${formatCalls(outcome.calls)}\n`);
  return publishExitCode(outcome);
}

interface PublishArgs {
  config?: string;
  force: boolean;
}

export function publishCommand(configFromEnv: string | undefined): CommandModule<object, PublishArgs> {
  return {
    command: 'publish',
    describe: 'read IAM once and write the signed access snapshot to SNAPSHOT_URL, for instances to sync from',
    builder: (y) =>
      y
        .option('force', { type: 'boolean', default: false, describe: 'publish past MAX_REMOVALS or an empty read, or over a current snapshot that does not verify' })
        .epilogue('Exit status: 0 published or unchanged; 1 an IAM, S3 or KMS step failed (nothing written); 2 bad config or usage; 3 refused by MAX_REMOVALS, the empty-read guard or a current snapshot that does not verify.') as never,
    handler: async (args) => {
      process.exitCode = await runPublish({ configFile: args.config ?? configFromEnv, force: args.force });
    },
  };
}
