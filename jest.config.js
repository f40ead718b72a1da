/** Unit tests import the pure modules; integration and e2e tests drive the built dist/iam-ssh. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: { module: 'commonjs' } }] },
  testTimeout: 60000,
  maxWorkers: 2,
};
