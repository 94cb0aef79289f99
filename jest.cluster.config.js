/**
 * The checkout on a real Redis Cluster (scripts/redis-cluster.sh start; `npm run test:cluster`):
 * the end-to-end hold, race, expiry, checkout and relay tests, and those of the other Redis users,
 * run again, unchanged, with every Redis client a cluster client; then the failover test
 * (test/cluster). A cluster has db 0 only, so files cannot keep apart by db index: they run one
 * at a time, each flushing every master before and after (test/support/api.ts, redis-db.ts).
 * @type {import('jest').Config}
 */
const main = require('./jest.config.js');

process.env.TEST_REDIS_CLUSTER_NODES ??=
  '127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103,127.0.0.1:7104,127.0.0.1:7105,127.0.0.1:7106';

module.exports = {
  testEnvironment: main.testEnvironment,
  transform: main.transform,
  testTimeout: main.testTimeout,
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/e2e/holds.test.ts',
    '<rootDir>/test/e2e/hold-races.test.ts',
    '<rootDir>/test/e2e/checkout.test.ts',
    '<rootDir>/test/integration/hold-expiry.test.ts',
    '<rootDir>/test/integration/event-relay.test.ts',
    // What else keeps to one slot per operation: idempotency records, rate limits, the
    // best-available layout, the live-map log, the overdue-hold sweep.
    '<rootDir>/test/e2e/hold-idempotency.test.ts',
    '<rootDir>/test/e2e/rate-limits.test.ts',
    '<rootDir>/test/e2e/best-available.test.ts',
    '<rootDir>/test/e2e/live-seat-map.test.ts',
    '<rootDir>/test/integration/hold-sweep.test.ts',
    // Best available's occupancy (every script keeps it in the session's slot) and the
    // order-settled pub/sub that wakes Prefer: wait across nodes.
    '<rootDir>/test/integration/best-seats-script.test.ts',
    '<rootDir>/test/e2e/order-wait.test.ts',
    // The cached seat map: its version and its atomic read stay in the session's slot.
    '<rootDir>/test/integration/seat-map-cache.test.ts',
    '<rootDir>/test/cluster/**/*.test.ts',
  ],
  maxWorkers: 1,
};
