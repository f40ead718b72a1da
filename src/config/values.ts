/** Value parsers for config keys. Each throws a plain Error whose message becomes `file:line: KEY: message`. */
import { isAwsRegion, isLocalNameSyntax, isIamGroupName } from '../util/validators';
import { parseSudoRule } from './sudo-rule';
import { parseS3Url } from '../snapshot/s3-url';

export function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}


export function iamGroups(v: string): string[] {
  const groups = list(v);
  for (const g of groups) if (!isIamGroupName(g)) throw new Error(`"${g}" is not a valid IAM group name`);
  return groups;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `60`, `60s`, `500ms`, `5m`, `24h`, `1d`; a bare number is seconds. Returns milliseconds. */
export function duration(v: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(v.trim());
  if (!m) throw new Error(`"${v}" is not a duration (e.g. 60, 90s, 5m, 24h)`);
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
}

/** 90000 -> `90s`, 86400000 -> `1d`: the largest unit that divides it. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of Object.entries(UNITS).reverse()) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A duration inside min..max milliseconds; timers past 2^31-1 ms would fire at once, so every key has a bound. */
export function durationIn(min: number, max: number) {
  return (v: string): number => {
    const ms = duration(v);
    if (ms < min || ms > max) throw new Error(`${v.trim()} is outside ${formatDuration(min)}..${formatDuration(max)}`);
    return ms;
  };
}

export function integer(min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v.trim())) throw new Error(`"${v}" is not a whole number`);
    const n = Number(v);
    if (n < min || n > max) throw new Error(`${v.trim()} is outside ${min}..${max}`);
    return n;
  };
}

export function bool(v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(s)) return true;
  if (['0', 'no', 'false', 'off', ''].includes(s)) return false;
  throw new Error(`"${v}" is not yes/no`);
}

export function absolutePath(v: string): string {
  if (!v.startsWith('/') || v.includes('\0') || /(^|\/)\.\.(\/|$)/.test(v)) throw new Error(`"${v}" is not an absolute path`);
  return v.replace(/\/+$/, '') || '/';
}

function parseUrl(v: string): URL {
  try {
    return new URL(v);
  } catch {
    throw new Error(`"${v}" is not a URL`);
  }
}

export function url(v: string): string {
  const u = parseUrl(v);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`"${v}" is not an http(s) URL`);
  return v.replace(/\/+$/, '');
}

/** SNAPSHOT_URL: s3://bucket/key. */
export function s3Url(v: string): string {
  parseS3Url(v.trim());
  return v.trim();
}

const KMS_KEY = /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]{1,250}|alias\/[A-Za-z0-9/_-]{1,250}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

/** A KMS key id, key ARN, alias name or alias ARN. */
export function kmsKeyId(v: string): string {
  if (!KMS_KEY.test(v.trim())) throw new Error(`"${v}" is not a KMS key id, ARN or alias`);
  return v.trim();
}

export function region(v: string): string {
  if (!isAwsRegion(v)) throw new Error(`"${v}" is not an AWS region`);
  return v;
}

export function roleArn(v: string): string {
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(v)) throw new Error(`"${v}" is not an IAM role ARN`);
  return v;
}

/** A local group name as shadow-utils accepts it. */
export function localGroup(v: string): string {
  if (!isLocalNameSyntax(v)) throw new Error(`"${v}" is not a valid local group name`);
  return v;
}

/** A comma list of local group names. */
export function localGroups(v: string): string[] {
  return list(v).map(localGroup);
}

/** `ssh-admins=wheel+docker,devs=docker`: IAM group -> local groups. */
export function groupMap(v: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of list(v)) {
    const m = /^([^=]+)=(.+)$/.exec(item);
    if (!m) throw new Error(`"${item}" is not IAM_GROUP=local+local`);
    const [iam] = iamGroups(m[1]!.trim());
    out[iam!] = [...new Set([...(out[iam!] ?? []), ...m[2]!.split('+').map((g) => localGroup(g.trim()))])];
  }
  return out;
}

/** Program arguments, split on white space; never given to a shell. */
export function args(v: string): string[] {
  return v.split(/\s+/).filter((a) => a !== '');
}

/** KEYS_CHAIN_COMMAND: a program and its fixed arguments; `%u`, `%f` and `%%` are filled in per login. */
export interface ChainCommand {
  program: string;
  args: string[];
}

const CHAIN_MAX_ARGS = 32;
const CHAIN_MAX_ARG = 256;

/**
 * A command `keys` runs after its own lookup (docs/configuration.md#keys_chain_command): an
 * absolute path of plain characters, then arguments split on spaces (never given to a shell,
 * so there is no quoting). Only the tokens sshd passes `keys` can be filled: `%u` and `%f`.
 */
export function chainCommand(v: string): ChainCommand | null {
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v)) throw new Error('a control character in the command');
  const [program, ...args] = v.split(/[ \t]+/).filter((w) => w !== '');
  if (program === undefined) return null;
  if (!/^(\/[A-Za-z0-9._+@-]+)+$/.test(program) || /\/\.\.?(\/|$)/.test(program)) {
    throw new Error(`"${program}" is not an absolute path to a program (plain characters, no . or .. segments)`);
  }
  if (args.length > CHAIN_MAX_ARGS) throw new Error(`more than ${CHAIN_MAX_ARGS} arguments`);
  for (const a of args) {
    if (a.length > CHAIN_MAX_ARG) throw new Error(`an argument longer than ${CHAIN_MAX_ARG} characters`);
    for (const m of a.matchAll(/%(.?)/g)) {
      if (m[1] === '') throw new Error(`"${a}": a % at the end (write %% for a percent sign)`);
      if (!['u', 'f', '%'].includes(m[1]!)) throw new Error(`"${a}": %${m[1]} is not a token keys can fill (sshd passes keys only %u and %f)`);
    }
  }
  return { program, args };
}

/** The value as written in the file: chainCommand(formatChainCommand(c)) equals c. */
export function formatChainCommand(c: ChainCommand): string {
  return [c.program, ...c.args].join(' ');
}

export function oneOf<T extends string>(v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`"${v}" is not one of ${allowed.join(', ')}`);
  return v as T;
}

/** The right-hand side of the sudo group's sudoers line, in canonical form (see ./sudo-rule.ts). */
export const sudoRule = parseSudoRule;

/**
 * An SSM Parameter Store path such as `/iam-ssh/prod/`: segments of `[A-Za-z0-9_.-]`, at most
 * 15 levels, not under the reserved `/aws` or `/ssm`. Returned with one trailing slash.
 */
export function ssmPath(v: string): string {
  const p = v.endsWith('/') ? v : `${v}/`;
  const segments = p.slice(1, -1).split('/');
  const ok = p.startsWith('/') && p.length <= 1011 && segments.length <= 15 && segments.every((s) => /^[A-Za-z0-9_.-]+$/.test(s) && s !== '.' && s !== '..');
  if (!ok) throw new Error(`"${v}" is not an SSM parameter path like /iam-ssh/prod/`);
  if (/^(aws|ssm)$/i.test(segments[0]!)) throw new Error(`"${v}" is under a path reserved by AWS`);
  return p;
}

/** An EC2 tag key that instance metadata can serve: no spaces or `/` (AWS leaves those out of it). */
export function tagKey(v: string): string {
  if (!/^[A-Za-z0-9+=.,_:@-]{1,128}$/.test(v) || v === '.' || v === '..' || v === '_index') {
    throw new Error(`"${v}" is not a tag key that instance metadata can serve (letters, digits, + - = . , _ : @)`);
  }
  return v;
}

/**
 * Where login notifications are POSTed: https, or plain http only to a loopback address (a
 * local relay or a test), because the message names users and hosts.
 */
export function webhookUrl(v: string): string {
  const u = parseUrl(v);
  const loopback = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/i.test(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) throw new Error('the webhook URL must be https (plain http only to a loopback address)');
  if (u.hash) throw new Error('the webhook URL must not carry a #fragment');
  return u.href;
}

/** Mail recipients: plain `local@domain` addresses, no names, comments or quoting. */
export function emailAddresses(v: string): string[] {
  const all = list(v);
  for (const a of all) {
    if (!/^[A-Za-z0-9._%+=-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/.test(a) || a.startsWith('-') || a.length > 254) {
      throw new Error(`"${a}" is not a plain e-mail address like ops@example.com`);
    }
  }
  return all;
}

/** Local user names as shadow-utils accepts them (the names need not exist). */
export function localUsers(v: string): string[] {
  const all = list(v);
  for (const u of all) if (!isLocalNameSyntax(u)) throw new Error(`"${u}" is not a valid local user name`);
  return all;
}
