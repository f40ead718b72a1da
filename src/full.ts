/**
 * Entry of the full bundle: everything beyond the login path, that is the yargs command line,
 * every other command, and the AWS SDK. The executable carries it as a separate script that is
 * compiled only when a process needs it (./load-full-sea.ts), so the login path starts small.
 */
export { main } from './cli/app';
export { createIamDirectory } from './aws/iam';
