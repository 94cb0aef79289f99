import type { Express } from 'express';
import { createApp, type AppDependencies } from '../../api/app';
import { Directory } from '../../shared/catalogue/directory';
import { createCheckoutQueues, type CheckoutQueues } from '../../shared/queues';
import { HOLD_SCRIPT_COMMANDS } from '../../shared/holds/scripts';
import { createRedis, type RedisClient } from '../../shared/redis';
import { createTestDatabase, silentLogger, type TestDatabase } from './database';
import { flushRedis } from './redis-db';

export interface TestApi {
  app: Express;
  db: TestDatabase;
  redis: RedisClient;
  queues: CheckoutQueues;
  adminAuth: { Authorization: string };
  close: () => Promise<void>;
}

/**
 * One more API instance on an existing test database, with connections of its own, as
 * api/main.ts wires one (another "process" behind the same load balancer).
 */
export async function apiInstance(
  db: Pick<TestDatabase, 'config' | 'orm'>,
  overrides: Partial<AppDependencies> = {},
) {
  const redis = createRedis(db.config, {
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    scriptCommands: HOLD_SCRIPT_COMMANDS,
  });
  const queues = createCheckoutQueues(db.config);
  const directory = new Directory(db.orm);
  await directory.warmUp();
  const app = createApp({
    config: db.config,
    logger: silentLogger,
    orm: db.orm,
    redis,
    queues,
    directory,
    ...overrides,
  });
  return { app, redis, queues };
}

/** The API wired to this file's own database and Redis db, as api/main.ts wires it. */
export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const db = await createTestDatabase({ env });
  const { app, redis, queues } = await apiInstance(db);
  await flushRedis(redis);
  return {
    app,
    db,
    redis,
    queues,
    adminAuth: { Authorization: `Bearer ${db.config.adminToken}` },
    close: async () => {
      await queues.close();
      await flushRedis(redis);
      await redis.quit();
      await db.drop();
    },
  };
}
