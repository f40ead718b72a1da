/**
 * Recognises the exact argument forms sshd uses for the login path, so that `keys` starts
 * without loading yargs (which alone costs about as much as starting node). Anything else,
 * including every malformed or unusual form, is left to the full yargs parser.
 */
export interface LoginArgs {
  user: string;
  fingerprint: string | undefined;
  config: string | undefined;
  /** `--stats`: print the AWS calls of the run on stderr. */
  stats?: true;
}

const HELP = new Set(['-h', '--help', '--version']);
const STATS = '--stats';

export function parseLoginArgv(argv: readonly string[]): LoginArgs | null {
  let i = 0;
  let config: string | undefined;
  let stats = false;
  // Options come before `keys`, where sshd's %u and %f can never be; --stats may also close the line.
  for (;;) {
    const arg = argv[i];
    if (arg === STATS && !stats) {
      stats = true;
      i += 1;
    } else if (arg === '--config' && config === undefined && argv.length > i + 1 && !argv[i + 1]!.startsWith('-')) {
      config = argv[i + 1];
      i += 2;
    } else if (arg?.startsWith('--config=') && config === undefined && arg.length > '--config='.length) {
      config = arg.slice('--config='.length);
      i += 1;
    } else break;
  }
  const rest = argv.slice(i);
  // `keys <user> --stats`: the flag sits where sshd puts %f, which sshd computes itself; a user
  // name (%u, client-controlled) is never read as an option.
  if (rest.length === 3 && rest[2] === STATS) {
    if (stats) return null;
    stats = true;
    rest.pop();
  }
  if (rest[0] !== 'keys' || rest.length < 2 || rest.length > 3) return null;
  // Help and version requests go to yargs; any other dash-word is a (hostile) user name,
  // which `keys` refuses like every invalid name: exit 0, no output.
  if (rest.slice(1).some((a) => HELP.has(a))) return null;
  return { user: rest[1]!, fingerprint: rest[2], config, ...(stats ? { stats: true as const } : {}) };
}
