import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config';

/**
 * A Redis client on the configured server and db. `maxRetriesPerRequest: null` is what BullMQ
 * requires of its connections; request paths that must fail fast pass their own value.
 */
export function createRedis(config: Config, overrides: RedisOptions = {}): Redis {
  return new Redis({
    host: config.redis.host,
    port: config.redis.port,
    db: config.redis.db,
    maxRetriesPerRequest: null,
    ...overrides,
  });
}
