/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/api', '<rootDir>/shared', '<rootDir>/workers', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The fault suite restarts the shared servers: it runs alone, by jest.faults.config.js. The
  // cluster tests need the local Redis Cluster: jest.cluster.config.js.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/', '<rootDir>/test/cluster/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' }, sourceMaps: 'inline' }] },
  // Two cores here: one file per core, each with its own database, Redis db and vhost.
  maxWorkers: 2,
  testTimeout: 30_000,
  collectCoverageFrom: [
    'api/**/*.ts',
    'shared/**/*.ts',
    'workers/**/*.ts',
    // Process entry points are exercised by running the processes, which coverage cannot see.
    '!**/main.ts',
    // The buyer's page runs in the browser, where coverage is not collected (browser tests).
    '!api/page/src/**',
    '!**/*.test.ts',
  ],
  coverageReporters: ['text-summary', 'text', 'lcov'],
  coverageThreshold: { global: { lines: 80 } },
};
