import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config';
import { HOLD_SCRIPT_COMMANDS } from './holds/scripts';

/**
 * A client of the configured Redis: one server, or a Redis Cluster when REDIS_CLUSTER_NODES is
 * set. Both speak the same commands; on a cluster, a command, script, MULTI or pipeline must keep
 * its keys inside one slot (the README's key table says how each key does).
 */
export type RedisClient = Redis | Cluster;

/**
 * A Redis client on the configured server and db, or on the configured cluster.
 * `maxRetriesPerRequest: null` is what BullMQ requires of its connections; request paths that
 * must fail fast pass their own value.
 */
export function createRedis(config: Config, overrides: RedisOptions = {}): RedisClient {
  const { clusterNodes } = config.redis;
  if (!clusterNodes) {
    return new Redis({
      host: config.redis.host,
      port: config.redis.port,
      db: config.redis.db,
      maxRetriesPerRequest: null,
      ...overrides,
    });
  }
  // Auto-pipelining is the cluster client's own option (it batches per node); the rest apply to
  // its connection to each node.
  const { enableAutoPipelining, ...nodeOptions } = overrides;
  return new Cluster(clusterNodes, {
    enableAutoPipelining,
    autoPipeliningIgnoredCommands: [...HOLD_SCRIPT_COMMANDS],
    redisOptions: { maxRetriesPerRequest: null, ...nodeOptions },
  });
}

/**
 * The masters behind a client (itself, on one server): where SCAN, FLUSHDB and INFO must go to
 * see every key. A cluster client knows its nodes once connected, hence the PING first.
 */
export async function mastersOf(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  await redis.ping();
  return redis.nodes('master');
}

export const isCluster = (redis: RedisClient): redis is Cluster => redis instanceof Cluster;
