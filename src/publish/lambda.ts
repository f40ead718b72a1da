/**
 * `iam-ssh publish` as an AWS Lambda handler (deploy/iam-ssh-publisher.yaml; built by
 * scripts/build-lambda.mjs into dist/lambda/). One accepted event, one publish: the schedule
 * rule's event or an access-changing IAM call from CloudTrail. The settings are the function's
 * environment variables, read as the config file is read. An access change that the last
 * successful read of this warm function already saw is not read again (coveredByLastRead). An
 * invocation that does not publish or confirm the snapshot throws, so that it counts as a failed invocation (the Errors metric,
 * the asynchronous retries) rather than a quiet success.
 */
import type { Config } from '../config/config';
import { stderrLogger, errText, type Logger } from '../util/log';
import { formatCalls } from '../aws/call-stats';
import { classifyEvent, coveredByLastRead, type Trigger } from './lambda-event';
import { configFromEnvironment } from './lambda-config';
import { createPublishDeps, publishSnapshot, type PublishDeps, type PublishOutcome } from './publish';

export interface PublishInvocationResult {
  /** covered: the last read of this function started after the change; nothing was read. */
  status: 'published' | 'unchanged' | 'covered';
  serial: number | null;
  users: number;
  changed: boolean;
  trigger: Trigger;
  calls: string;
}

export interface HandlerOptions {
  log?: Logger;
  /** The clients; by default the real ones built from the Config. */
  deps?: (config: Config, log: Logger) => Promise<PublishDeps>;
  /** What a warm function remembers between invocations. */
  state?: WarmState;
  now?: () => number;
}

export interface WarmState {
  /** When the last read that ended published or unchanged began; null in a cold function. */
  lastReadStartedAt: number | null;
}

/** Module state lives as long as the function's execution environment; one publish runs at a time. */
const warm: WarmState = { lastReadStartedAt: null };

/** Why an invocation did nothing; its message is what the Lambda console and logs show. */
export class PublishInvocationError extends Error {
  override name = 'PublishInvocationError';
}

export async function handleEvent(event: unknown, env: Readonly<Record<string, string | undefined>>, opts: HandlerOptions = {}): Promise<PublishInvocationResult> {
  const log = opts.log ?? stderrLogger('publish');
  const classified = classifyEvent(event);
  if (!classified.ok) {
    log.log('error', 'publish.event_refused', { reason: classified.reason });
    throw new PublishInvocationError(`event refused: ${classified.reason}`);
  }
  const { trigger } = classified;
  let config: Config;
  try {
    const built = configFromEnvironment(env);
    built.warnings.forEach((w) => log.log('warn', 'config.warning', { message: w }));
    config = built.config;
  } catch (e) {
    log.log('error', 'config.error', { error: errText(e) });
    throw new PublishInvocationError(`configuration: ${errText(e)}`);
  }
  if (!config.snapshotUrl || !config.snapshotKmsKey) {
    log.log('error', 'config.error', { error: 'publish needs SNAPSHOT_URL and SNAPSHOT_KMS_KEY in the function\'s environment' });
    throw new PublishInvocationError('configuration: SNAPSHOT_URL and SNAPSHOT_KMS_KEY are required');
  }
  const state = opts.state ?? warm;
  const now = opts.now ?? Date.now;
  if (coveredByLastRead(trigger, state.lastReadStartedAt)) {
    log.log('info', 'publish.covered', { ...trigger, lastReadStartedAt: new Date(state.lastReadStartedAt!).toISOString() });
    return { status: 'covered', serial: null, users: 0, changed: false, trigger, calls: formatCalls({}) };
  }
  log.log('info', 'publish.triggered', { ...trigger });
  const started = now();
  const deps = await (opts.deps ?? ((c, l) => createPublishDeps(c, l)))(config, log);
  let outcome: PublishOutcome;
  try {
    outcome = await publishSnapshot(config, deps);
  } catch (e) {
    // publishSnapshot reports its failures as outcomes; this is a bug or a broken client.
    log.log('error', 'publish.failed', { error: errText(e) });
    throw new PublishInvocationError(`publish failed: ${errText(e)}`);
  }
  if (outcome.status !== 'published' && outcome.status !== 'unchanged') {
    throw new PublishInvocationError(`publish ${outcome.status}: ${outcome.reason ?? 'no reason given'}`);
  }
  state.lastReadStartedAt = started;
  return { status: outcome.status, serial: outcome.serial, users: outcome.users, changed: outcome.changed, trigger, calls: formatCalls(outcome.calls) };
}

/** The function's entry point (Handler: index.handler). */
export async function handler(event: unknown): Promise<PublishInvocationResult> {
  return handleEvent(event, process.env);
}
