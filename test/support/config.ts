import { loadConfig, type Config } from '../../shared/config';

/**
 * Redis db index of this test file: jest runs files in parallel, one per worker, so the worker
 * id keeps concurrent files apart (db 0 is left to `npm start`). Files flush their db when done.
 */
export const redisDbForThisWorker = () => 1 + ((Number(process.env.JEST_WORKER_ID ?? 1) - 1) % 15);

/**
 * The cluster run (jest.cluster.config.js) sets this to the local cluster's nodes
 * (scripts/redis-cluster.sh): every file then talks to the cluster, where REDIS_DB means nothing.
 */
const clusterNodes = process.env.TEST_REDIS_CLUSTER_NODES;

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    ...(clusterNodes ? { REDIS_CLUSTER_NODES: clusterNodes } : {}),
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    REDIS_DB: String(redisDbForThisWorker()),
    ADMIN_TOKEN: 'test-admin-token-0123456789',
    RATE_LIMIT_PER_USER: '0',
    RATE_LIMIT_PER_IP: '0',
    // Tests sign the same demo users in many times from one address: the files that test the
    // sign-in limits turn them on.
    AUTH_RATE_LIMIT_PER_IP: '0',
    AUTH_RATE_LIMIT_PER_EMAIL: '0',
    ...env,
  });
}
