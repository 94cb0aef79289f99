import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config';

/**
 * A client of the configured Redis: one server, or a Redis Cluster when REDIS_CLUSTER_NODES is
 * set. Both speak the same commands; on a cluster, a command, script, MULTI or pipeline must keep
 * its keys inside one slot (the README's key table says how each key does).
 */
export type RedisClient = Redis | Cluster;

/**
 * A Redis client on the configured server and db, or on the configured cluster.
 * `maxRetriesPerRequest: null` is what BullMQ requires of its connections; request paths that
 * must fail fast pass their own value. `scriptCommands` names the commands defined by scripts
 * whose key count is their first argument: a cluster client's auto-pipelining would take that
 * count for the first key and batch the call with another master's commands, so on a cluster
 * they are sent outside auto-pipelines.
 */
export function createRedis(
  config: Config,
  overrides: RedisOptions & { scriptCommands?: readonly string[] } = {},
): RedisClient {
  const { scriptCommands = [], ...options } = overrides;
  const { clusterNodes } = config.redis;
  if (!clusterNodes) {
    return new Redis({
      host: config.redis.host,
      port: config.redis.port,
      db: config.redis.db,
      maxRetriesPerRequest: null,
      ...options,
    });
  }
  // Auto-pipelining is the cluster client's own option (it batches per node); the rest apply to
  // its connection to each node.
  const { enableAutoPipelining, ...nodeOptions } = options;
  return new Cluster(clusterNodes, {
    enableAutoPipelining,
    autoPipeliningIgnoredCommands: [...scriptCommands],
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
