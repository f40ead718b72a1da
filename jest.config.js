/** Unit tests import the pure modules; integration and e2e tests drive the built dist/iam-ssh. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', moduleResolution: 'node10' } }] },
  testTimeout: 60000,
  maxWorkers: 2,
};
