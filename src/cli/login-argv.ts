/**
 * Recognises the exact argument forms sshd uses for the login path, so that `keys` starts
 * without loading yargs (which alone costs about as much as starting node). Anything else,
 * including every malformed or unusual form, is left to the full yargs parser.
 */
export interface LoginArgs {
  user: string;
  fingerprint: string | undefined;
  config: string | undefined;
}

const HELP = new Set(['-h', '--help', '--version']);

export function parseLoginArgv(argv: readonly string[]): LoginArgs | null {
  let i = 0;
  let config: string | undefined;
  const first = argv[0];
  if (first === '--config' && argv.length > 1 && !argv[1]!.startsWith('-')) {
    config = argv[1];
    i = 2;
  } else if (first?.startsWith('--config=') && first.length > '--config='.length) {
    config = first.slice('--config='.length);
    i = 1;
  }
  const rest = argv.slice(i);
  if (rest[0] !== 'keys' || rest.length < 2 || rest.length > 3) return null;
  // Help and version requests go to yargs; any other dash-word is a (hostile) user name,
  // which `keys` refuses like every invalid name: exit 0, no output.
  if (rest.slice(1).some((a) => HELP.has(a))) return null;
  return { user: rest[1]!, fingerprint: rest[2], config };
}
