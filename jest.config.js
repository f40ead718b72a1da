/** Unit tests import the pure modules; integration and e2e tests drive the built dist/iam-ssh. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: { module: 'commonjs', moduleResolution: 'node10' } }],
    '\\.(service|timer)$': '<rootDir>/test/helpers/text-transform.cjs',
  },
  moduleFileExtensions: ['ts', 'js', 'cjs', 'json', 'service', 'timer'],
  testTimeout: 60000,
  maxWorkers: 2,
};
