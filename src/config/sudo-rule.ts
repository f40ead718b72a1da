/**
 * SUDO_RULE: the right-hand side of the one sudoers line sync writes, `%<SUDO_LOCAL_GROUP> <rule>`.
 * sudoers' own grammar lets that text reach back into the user list (`,ALL ALL=...` makes the
 * line `%group ,ALL ALL=...`, which grants every account) or append further specs. So the rule
 * is read to a strict subset of the grammar and written back in one canonical form:
 *
 *   HOSTS = [(RUNAS[:GROUPS])] [TAG:]... COMMAND [, COMMAND]...
 *
 * HOSTS is ALL or lower-case host names and addresses; RUNAS and GROUPS are ALL or local
 * names; TAG is one of TAGS; COMMAND is ALL or an absolute path with plain arguments (or the
 * single argument "" meaning none). No aliases, netgroups, uids, negation, options, digests,
 * wildcards, escapes or comments: whatever the text, the line grants the sudo group only.
 */
import { isLocalNameSyntax } from '../util/validators';

/**
 * The tags a rule may carry. Left out: SETENV (lets the caller pass LD_PRELOAD and the like to
 * a command, which turns any command list into a root shell), FOLLOW/NOFOLLOW (sudoedit only,
 * which is not allowed), INTERCEPT/NOINTERCEPT (unknown to older sudo, so visudo would fail).
 */
export const SUDO_TAGS: readonly string[] = ['NOPASSWD', 'PASSWD', 'NOEXEC', 'EXEC', 'NOSETENV', 'LOG_INPUT', 'NOLOG_INPUT', 'LOG_OUTPUT', 'NOLOG_OUTPUT', 'MAIL', 'NOMAIL'];

const MAX_LENGTH = 1024;
const HOST = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
const PATH_SEGMENT = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$/;
/** No `,` `:` `=` `\` (sudoers would read them as syntax), no glob characters, no quotes. */
const ARGUMENT = /^[A-Za-z0-9_./+@-]+$/;
/** HOSTS=, then an optional (RUNAS), then TAG: prefixes, then the commands. Spaces only, no tabs. */
const RULE = /^([^=]*?) *= *(?:\(([^()]*)\) *)?((?:[A-Za-z_]+ *: *)*)(.*)$/;

const fail = (why: string): never => {
  throw new Error(why);
};

function hosts(text: string): string[] {
  const list = text.split(',').map((h) => h.trim());
  if (list[0] === '') fail('it must start with a host list (ALL, or host names) before "="');
  for (const h of list) {
    if (h === 'ALL' && list.length === 1) continue;
    if (!HOST.test(h)) fail(`"${h}" is not a host (ALL alone, or lower-case host names and addresses)`);
  }
  return list;
}

function runasList(text: string, what: string): string[] {
  const list = text.split(',').map((s) => s.trim());
  for (const n of list) if (n !== 'ALL' && !isLocalNameSyntax(n)) fail(`"${n}" is not a run-as ${what} (ALL or a local name)`);
  return list;
}

function runas(text: string): string {
  const parts = text.split(':');
  if (parts.length > 2 || text.trim() === '') fail(`"(${text})" is not a run-as spec like (ALL), (root) or (ALL:ALL)`);
  const users = parts[0]!.trim() === '' && parts.length === 2 ? [] : runasList(parts[0]!, 'user');
  const groups = parts.length === 2 ? runasList(parts[1]!, 'group') : null;
  return `(${users.join(',')}${groups ? `:${groups.join(',')}` : ''})`;
}

function command(text: string): string {
  const words = text.split(/ +/);
  const path = words[0]!;
  if (path === 'ALL') {
    if (words.length > 1) fail(`"${text}": ALL takes no arguments`);
    return path;
  }
  const segments = path.split('/').slice(1);
  if (!path.startsWith('/') || segments.some((s) => !PATH_SEGMENT.test(s) || s === '.' || s === '..')) {
    fail(`"${text}" is not a command (ALL, or an absolute path to a program, without wildcards, "..", a trailing "/" or a "!")`);
  }
  const args = words.slice(1);
  const empty = args.length === 1 && args[0] === '""';
  if (!empty) for (const a of args) if (!ARGUMENT.test(a)) fail(`"${a}" is not a plain argument (letters, digits and _ . / + @ -; or "" alone for none)`);
  return words.join(' ');
}

/** Parses a SUDO_RULE and returns its canonical form; throws with the reason otherwise. */
export function parseSudoRule(value: string): string {
  const v = value.trim();
  const expected = `"${value}" is not a sudoers rule like ALL=(ALL) NOPASSWD:ALL`;
  try {
    if (v.length > MAX_LENGTH) fail(`it is longer than ${MAX_LENGTH} characters`);
    if (!/^[A-Za-z0-9_=(),:/ .@+"-]*$/.test(v)) fail('it contains a character outside A-Z a-z 0-9 _ = ( ) , : / . @ + " - and space');
    const m = RULE.exec(v);
    if (!m) return fail('it needs HOSTS=COMMANDS');
    const [, hostText, runasText, tagText, commandText] = m;
    const h = hosts(hostText!);
    const r = runasText === undefined ? '' : `${runas(runasText)} `;
    const tags = tagText!.split(':').map((t) => t.trim()).filter((t) => t !== '');
    for (const t of tags) if (!SUDO_TAGS.includes(t)) fail(`tag ${t} is not allowed (allowed: ${SUDO_TAGS.join(', ')})`);
    const commands = commandText!.split(',').map((c) => c.trim());
    if (commands.some((c) => c === '')) fail('a command is missing (after "=", a tag or a ",")');
    return `${h.join(',')}=${r}${tags.map((t) => `${t}:`).join('')}${commands.map(command).join(', ')}`;
  } catch (e) {
    throw new Error(`${expected}: ${(e as Error).message}`, { cause: e });
  }
}
