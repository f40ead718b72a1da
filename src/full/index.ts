/**
 * Everything beyond a keys cache hit: the yargs command line, every other command, and the
 * AWS SDK. The executable carries this as a separate script that is compiled only when a
 * process needs it (see ./load.ts), so the login path starts with a small bundle.
 */
export { main } from '../cli/app';
export { createIamDirectory } from '../aws/iam';
