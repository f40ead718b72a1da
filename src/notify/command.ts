/**
 * `iam-ssh notify-login`: run by pam_exec when a session opens
 * (`session optional pam_exec.so quiet /usr/local/bin/iam-ssh notify-login` in /etc/pam.d/sshd).
 *
 * Reports logins of NOTIFY_GROUPS members (break-glass accounts) to a webhook, to mail and,
 * always, to journald. Its contract with PAM: exit 0, every time, within NOTIFY_TIMEOUT, so
 * that no failure of a channel can fail or hang a login. It never calls IAM: the IAM user and
 * groups come from sync's record, the key id from the keys cache, the instance from IMDS.
 */
import { hostname } from 'node:os';
import type { CommandModule } from 'yargs';
import { defaults, type Config } from '../config/config';
import { HardDeadline, processStartMs } from '../util/deadline';
import { resolveForReport } from '../config/resolve';
import { stderrLogger, errText, type Logger } from '../util/log';
import { decideNotify } from './rules';
import { authInfoFingerprints, formatText, mailMessage, webhookPayload, clean, type LoginFacts } from './message';
import { authScope } from '../keys/cache-entry';
import { KeysCache } from '../keys/cache';
import { asCacheOwner } from '../state/cache-access';
import { sameFingerprint } from '../util/ssh-key';
import { readSyncState } from '../state/sync-state';
import { instanceIdentity, type InstanceIdentity } from '../platform/instance-identity';
import { postWebhook, sendMail } from './channels';

/** What pam_exec passes: the PAM items, and sshd's PAM environment (SSH_AUTH_INFO_0). */
export type PamEnv = Readonly<Record<string, string | undefined>>;

/** Time kept back from the budget to log the outcome and hand it to journald. */
const MARGIN_MS = 300;
/** IMDS gets at most this long: off EC2 it may never answer. */
const IMDS_MS = 500;

export interface NotifyDeps {
  config: Config;
  log: Logger;
  now?: () => Date;
  hostname?: () => string;
  identity?: (signal: AbortSignal) => Promise<InstanceIdentity>;
}

export async function notifyLogin(env: PamEnv, deps: NotifyDeps, deadline: number): Promise<void> {
  const { config, log } = deps;
  const user = env.PAM_USER;
  const decision = decideNotify(env.PAM_TYPE, user, { groups: config.notifyGroups, ignoreUsers: config.notifyIgnoreUsers }, readSyncState(config.stateDir));
  if (!decision.notify) {
    if (config.notifyGroups.length !== 0 && env.PAM_TYPE === 'open_session') log.log('debug', 'notify.skipped', { user: clean(user), reason: decision.reason });
    return;
  }
  const localUser = user!; // a valid local name, checked by decideNotify
  const idAc = new AbortController();
  const idTimer = setTimeout(() => idAc.abort(new Error('IMDS did not answer in time')), Math.min(IMDS_MS, Math.max(0, deadline - Date.now())));
  const identity = (deps.identity ?? ((s) => instanceIdentity(config.imdsEndpoint, config.stateDir, s)))(idAc.signal).catch(
    (): InstanceIdentity => ({ instanceId: null, region: null }),
  );

  const key = keyOf(localUser, env.SSH_AUTH_INFO_0, config);
  const { instanceId, region } = await identity;
  clearTimeout(idTimer);
  const facts: LoginFacts = {
    localUser, iamUser: decision.iamUser ?? key.iamUser, keyId: key.keyId, fingerprint: key.fingerprint,
    rhost: env.PAM_RHOST ?? '', service: env.PAM_SERVICE ?? '', tty: env.PAM_TTY ?? '',
    time: (deps.now ?? (() => new Date()))().toISOString(), hostname: (deps.hostname ?? hostname)(), instanceId, region,
  };
  const channels = [...(config.notifyWebhookUrl ? ['webhook'] : []), ...(config.notifyEmail.length ? ['mail'] : [])];
  // The journald channel: this record, whatever becomes of the others.
  log.log('warn', 'notify.login', { ...cleanFields(facts), reason: decision.reason, channels: ['journal', ...channels], text: formatText(facts) });

  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('no answer within NOTIFY_TIMEOUT')), Math.max(0, deadline - Date.now()));
  const send = async (channel: string, deliver: () => Promise<unknown>) => {
    try {
      await deliver();
      log.log('info', 'notify.sent', { user: localUser, channel });
    } catch (e) {
      log.log('error', 'notify.failed', { user: localUser, channel, error: errText(ac.signal.aborted ? ac.signal.reason : e), ...(channel === 'webhook' ? { host: new URL(config.notifyWebhookUrl!).host } : {}) });
    }
  };
  try {
    await Promise.all([
      config.notifyWebhookUrl ? send('webhook', () => postWebhook(config.notifyWebhookUrl!, webhookPayload(facts), ac.signal)) : null,
      config.notifyEmail.length ? send('mail', () => sendMail(config.sendmailProgram, config.notifyEmail, mailMessage(facts, config.notifyEmail), ac.signal)) : null,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The key that authenticated (SSH_AUTH_INFO_0) and its IAM key id, from the keys cache entry. */
function keyOf(user: string, authInfo: string | undefined, config: Config): { fingerprint: string | null; keyId: string | null; iamUser: string | null } {
  const fingerprints = authInfoFingerprints(authInfo);
  // pam_exec runs this as root: read the command user's cache as that user.
  const read = asCacheOwner(config.cacheDir, () => new KeysCache(config.cacheDir).read(user, authScope(config)));
  const entry = read.ok ? read.value : null;
  for (const fp of fingerprints) {
    const k = entry?.keys.find((c) => sameFingerprint(c.fingerprint, fp));
    if (k) return { fingerprint: fp, keyId: k.id, iamUser: entry!.iamUser };
  }
  return { fingerprint: fingerprints[0] ?? null, keyId: null, iamUser: entry?.iamUser ?? null };
}

function cleanFields(f: LoginFacts): Record<string, string | null> {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k === 'localUser' ? 'user' : k, v === null ? null : clean(v)]));
}

/** PAM's contract: exit 0 always and never outlive the budget. */
export async function runNotifyLogin(env: PamEnv, configFile: string | undefined): Promise<void> {
  // close_session and the other calls end here, before any file is read.
  if (env.PAM_TYPE !== 'open_session') return;
  const log = stderrLogger('notify', undefined, 'always');
  const deadline = new HardDeadline(processStartMs(), defaults().notifyTimeoutMs, (budgetMs) => {
    log.log('error', 'notify.timeout', { user: clean(env.PAM_USER), budgetMs });
    process.exit(0);
  });
  try {
    const { config, warnings } = await resolveForReport(configFile, log);
    for (const w of warnings) log.log('warn', 'config.warning', { message: w });
    deadline.setBudget(config.notifyTimeoutMs);
    await notifyLogin(env, { config, log }, deadline.at - MARGIN_MS);
  } catch (e) {
    log.log('error', 'notify.error', { user: clean(env.PAM_USER), error: errText(e) });
  } finally {
    await log.flush?.(Math.max(0, deadline.at - Date.now() - 50));
    deadline.clear();
  }
}

export function notifyLoginCommand(configFromEnv: string | undefined): CommandModule<{ config?: string }, { config?: string }> {
  return {
    command: 'notify-login',
    describe: 'report a login to the webhook, mail and journald (run by pam_exec; reads PAM_* variables)',
    builder: (y) =>
      y.epilogue(
        '/etc/pam.d/sshd:\n  session optional pam_exec.so quiet /usr/local/bin/iam-ssh notify-login\n\n' +
          'Acts on PAM_TYPE=open_session for members of NOTIFY_GROUPS; always exits 0 within NOTIFY_TIMEOUT.',
      ),
    handler: async (args) => {
      await runNotifyLogin(process.env, args.config ?? configFromEnv);
    },
  };
}
