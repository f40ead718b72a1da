/**
 * What USERADD_ARGS asks of useradd, read the way useradd's getopt reads it: whether the
 * account gets a private group (which sync then creates itself, with GID = UID) and whether
 * useradd makes the home directory.
 */

/** useradd's options that take a value (shadow-utils 4.x). */
const SHORT_WITH_VALUE = new Set('bcdefgGkKpPRsuZ');
const LONG_WITH_VALUE = new Set([
  '--base-dir', '--comment', '--home-dir', '--expiredate', '--inactive', '--gid', '--groups', '--skel',
  '--key', '--password', '--root', '--prefix', '--shell', '--uid', '--selinux-user', '--selinux-range',
]);

export interface UseraddArgs {
  /** With a private group, USERADD_ARGS less --user-group / -U: sync passes --gid itself, and useradd refuses both. */
  args: string[];
  /** An account gets its own group unless --no-user-group or --gid says otherwise (useradd's default on every target). */
  privateGroup: boolean;
  /** --create-home / --no-create-home, whichever comes last; null when neither (login.defs decides). */
  createsHome: boolean | null;
  /** --skel: the skeleton directory useradd copies into a new home; null for its default. */
  skel: string | null;
}

export function readUseraddArgs(given: readonly string[]): UseraddArgs {
  const args: string[] = [];
  let noUserGroup = false;
  let gid = false;
  let createsHome: boolean | null = null;
  let skel: string | null = null;
  const flag = (f: string) => {
    if (f === 'N') noUserGroup = true;
    else if (f === 'g') gid = true;
    else if (f === 'm') createsHome = true;
    else if (f === 'M') createsHome = false;
  };
  for (let i = 0; i < given.length; i++) {
    const tok = given[i]!;
    if (tok === '--') {
      args.push(...given.slice(i));
      break;
    }
    if (tok.startsWith('--')) {
      const name = tok.split('=', 1)[0]!;
      const long: Record<string, string> = { '--no-user-group': 'N', '--gid': 'g', '--create-home': 'm', '--no-create-home': 'M' };
      if (name in long) flag(long[name]!);
      if (name === '--user-group') continue;
      const inline = tok.includes('=') ? tok.slice(tok.indexOf('=') + 1) : null;
      args.push(tok);
      if (LONG_WITH_VALUE.has(name) && inline === null && i + 1 < given.length) args.push(given[++i]!);
      if (name === '--skel') skel = inline ?? (tok === args.at(-1) ? null : args.at(-1)!);
      continue;
    }
    if (!tok.startsWith('-') || tok === '-') {
      args.push(tok);
      continue;
    }
    // A cluster such as -mU or -mgusers: flags up to the first option that takes a value.
    let kept = '-';
    let takesNext = false;
    for (let j = 1; j < tok.length; j++) {
      const c = tok[j]!;
      flag(c);
      if (SHORT_WITH_VALUE.has(c)) {
        kept += tok.slice(j);
        takesNext = j === tok.length - 1;
        if (c === 'k') skel = takesNext ? (given[i + 1] ?? null) : tok.slice(j + 1);
        break;
      }
      if (c !== 'U') kept += c;
    }
    if (kept !== '-') args.push(kept);
    if (takesNext && i + 1 < given.length) args.push(given[++i]!);
  }
  const privateGroup = !noUserGroup && !gid;
  // Without a private group, useradd gets the arguments exactly as given (and judges them itself).
  return { args: privateGroup ? args : [...given], privateGroup, createsHome, skel };
}
