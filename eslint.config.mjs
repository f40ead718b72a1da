// Lint rules of iam-ssh. Besides typescript-eslint's recommended set, one rule of our own:
// the pure modules (plans, rules, messages, checks, parsers, validators) stay free of I/O,
// so that they can be tested exhaustively from tables and properties. The list is of files,
// not folders: purity is a property of a module, whatever folder it lives in.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export const PURE_MODULES = [
  'src/aws/call-stats.ts',
  'src/config/config.ts',
  'src/config/layers.ts',
  'src/config/parse.ts',
  'src/config/privileged.ts',
  'src/config/sudo-rule.ts',
  'src/config/values.ts',
  'src/doctor/checks-aws.ts',
  'src/doctor/checks-chain.ts',
  'src/doctor/checks-legacy.ts',
  'src/doctor/checks-snapshot.ts',
  'src/doctor/checks-logs.ts',
  'src/doctor/checks-sync.ts',
  'src/doctor/checks.ts',
  'src/doctor/facts.ts',
  'src/doctor/render.ts',
  'src/install/config-file.ts',
  'src/install/legacy-text.ts',
  'src/install/sshd-record-text.ts',
  'src/keys/active-keys.ts',
  'src/keys/cache-entry.ts',
  'src/keys/file-mode.ts',
  'src/keys/login-argv.ts',
  'src/notify/message.ts',
  'src/notify/rules.ts',
  'src/platform/sshd-config.ts',
  'src/platform/sshd-unit.ts',
  'src/publish/decide.ts',
  'src/publish/lambda-config.ts',
  'src/publish/lambda-event.ts',
  'src/record/asciicast.ts',
  'src/record/sessions-format.ts',
  'src/record/verify.ts',
  'src/record/wire.ts',
  'src/snapshot/accept.ts',
  'src/snapshot/canonical-json.ts',
  'src/snapshot/directory.ts',
  'src/snapshot/format.ts',
  'src/snapshot/s3-url.ts',
  'src/sync/account-files.ts',
  'src/sync/apply.ts',
  'src/sync/legacy-accounts.ts',
  'src/sync/names.ts',
  'src/sync/notice-codes.ts',
  'src/sync/plan-format.ts',
  'src/sync/plan-reads.ts',
  'src/sync/plan.ts',
  'src/sync/uid.ts',
  'src/sync/useradd-args.ts',
  'src/util/pool.ts',
  'src/util/ssh-key.ts',
  'src/util/validators.ts',
  'src/version.ts',
];

const IO_MODULES = ['fs', 'fs/promises', 'child_process', 'net', 'http', 'https', 'dgram', 'dns', 'os'].flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.cjs', 'jest.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', process: 'readonly', Buffer: 'readonly', __dirname: 'readonly' } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    rules: {
      // Parsers here reject control characters on purpose: the regular expressions name them.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: PURE_MODULES,
    rules: {
      'no-restricted-imports': ['error', { paths: IO_MODULES.map((name) => ({ name, message: 'a pure module does no I/O: take the data as an argument' })) }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'a pure module does not read the process: take the value as an argument' },
        { name: 'performance', message: 'a pure module does not read the clock: take the time as an argument' }],
      'no-restricted-syntax': ['error',
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'a pure module does not read the clock: take the time as an argument' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'a pure module does not read the clock: take the time as an argument' }],
    },
  },
);
