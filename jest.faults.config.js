/**
 * The fault suite (test/faults): real processes killed -9, RabbitMQ and PostgreSQL restarted.
 * It restarts servers every other test relies on, so it runs on its own, one file at a time,
 * after the main suite (`npm test` runs both).
 * @type {import('jest').Config}
 */
const main = require('./jest.config.js');

module.exports = {
  testEnvironment: main.testEnvironment,
  transform: main.transform,
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 10 * 60_000,
};
