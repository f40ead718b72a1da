/**
 * What a login notification says, as text, as a webhook's JSON body (Slack-compatible `text`)
 * and as a mail message. Pure.
 *
 * PAM_RHOST (a reverse-DNS name when sshd's UseDNS is on), PAM_TTY and PAM_SERVICE come from
 * outside: every value is reduced to printable ASCII and a bounded length before it is placed
 * anywhere, so no value can start a new line of the text or a new mail header, and Slack's
 * control sequences (`<!channel>`, links) are escaped in the webhook text.
 */
import { parsePublicKey } from '../util/ssh-key';

export interface LoginFacts {
  localUser: string;
  iamUser: string | null;
  keyId: string | null;
  fingerprint: string | null;
  rhost: string;
  service: string;
  tty: string;
  /** ISO 8601 UTC */
  time: string;
  hostname: string;
  instanceId: string | null;
  region: string | null;
}

const MAX = 128;

/** Printable ASCII only, at most MAX characters; anything else becomes `?`. */
export function clean(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = value.replace(/[^\x20-\x7e]/g, '?');
  return s.length > MAX ? s.slice(0, MAX - 3) + '...' : s;
}

function cleanFacts(f: LoginFacts): LoginFacts {
  const opt = (v: string | null) => (v === null ? null : clean(v));
  return {
    localUser: clean(f.localUser), iamUser: opt(f.iamUser), keyId: opt(f.keyId), fingerprint: opt(f.fingerprint),
    rhost: clean(f.rhost) || 'unknown', service: clean(f.service) || 'unknown', tty: clean(f.tty) || 'unknown',
    time: clean(f.time), hostname: clean(f.hostname), instanceId: opt(f.instanceId), region: opt(f.region),
  };
}

export function subject(facts: LoginFacts): string {
  const f = cleanFacts(facts);
  return `[iam-ssh] login as ${f.localUser} on ${f.hostname} from ${f.rhost}`;
}

/** The human-readable message: one fact per line. */
export function formatText(facts: LoginFacts): string {
  const f = cleanFacts(facts);
  const where = [f.instanceId, f.region].filter(Boolean).join(', ');
  const key = f.keyId || f.fingerprint ? [f.keyId ?? 'key id unknown', f.fingerprint ? `(${f.fingerprint})` : ''].filter(Boolean).join(' ') : 'unknown';
  return [
    `Login as ${f.localUser} on ${f.hostname}${where ? ` (${where})` : ''}`,
    `IAM user: ${f.iamUser ?? 'unknown'}`,
    `Key: ${key}`,
    `From: ${f.rhost}`,
    `Service: ${f.service}, tty: ${f.tty}`,
    `Time: ${f.time}`,
  ].join('\n');
}

/** Slack reads `&`, `<` and `>` as markup (`<!channel>` pings everyone); it asks for these escapes. */
function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The webhook body: Slack's `text`, plus every fact under a stable name. */
export function webhookPayload(facts: LoginFacts): string {
  const f = cleanFacts(facts);
  return JSON.stringify({
    text: slackEscape(`iam-ssh: ${formatText(facts)}`),
    event: 'login', user: f.localUser, iamUser: f.iamUser, keyId: f.keyId, fingerprint: f.fingerprint,
    rhost: f.rhost, service: f.service, tty: f.tty, time: f.time, hostname: f.hostname, instanceId: f.instanceId, region: f.region,
  });
}

/** A complete RFC 5322 message for `sendmail -oi -- recipients` (recipients are validated config). */
export function mailMessage(facts: LoginFacts, recipients: readonly string[]): string {
  return [
    `To: ${recipients.join(', ')}`,
    `Subject: ${subject(facts)}`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    '',
    ...formatText(facts).split('\n'),
    '',
  ].join('\r\n');
}

/**
 * The fingerprints of the public keys that authenticated, from sshd's SSH_AUTH_INFO_0
 * (`publickey ssh-ed25519 AAAA...`, one line per method that succeeded).
 */
export function authInfoFingerprints(authInfo: string | undefined): string[] {
  if (!authInfo) return [];
  const out: string[] = [];
  for (const line of authInfo.split('\n').slice(0, 16)) {
    const m = /^publickey (\S+ \S+)$/.exec(line.trim());
    if (!m) continue;
    const parsed = parsePublicKey(m[1]!);
    if (parsed.ok) out.push(parsed.key.fingerprint);
  }
  return out;
}
