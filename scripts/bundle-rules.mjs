// What the login bundle (src/main.ts: keys, notify-login) may not contain, judged from the
// inputs that esbuild's metafile lists: the AWS SDK and yargs cost tens of milliseconds to
// parse at every login, and the login path never needs them.
const FORBIDDEN = [/(^|\/)node_modules\/@aws-sdk\//, /(^|\/)node_modules\/@smithy\//, /(^|\/)node_modules\/yargs(-parser)?\//];

/** The inputs of a metafile that the login bundle must not carry. */
export function loginBundleViolations(metafile) {
  return Object.keys(metafile.inputs).filter((input) => FORBIDDEN.some((re) => re.test(input)));
}
