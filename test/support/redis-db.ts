import { randomUUID } from 'node:crypto';
import { createRedis, mastersOf, type RedisClient } from '../../shared/redis';
import { testConfig } from './config';

const MARKER_KEY = 'test-file:owner';
const MARKER_TTL_MS = 15 * 60_000;
/**
 * 1 and 2 are the per-Jest-worker dbs of most files (jest.config.js runs two workers); 12, 13
 * and 15 are fixed choices of other files and of the benchmark; 0 is `npm start`'s.
 */
const CANDIDATES = [3, 4, 5, 6, 7, 8, 9, 10, 11, 14];

export interface OwnRedisDb {
  /** The db index, as REDIS_DB wants it. */
  db: string;
  /** Marks the db taken again: call it after startTestApi, whose FLUSHDB removed the mark. */
  mark(): Promise<void>;
  /** Drops the mark (if still ours) and the connection. */
  release(): Promise<void>;
}

/** Empties what a test file sees of Redis: its db, or every master of the cluster. */
export async function flushRedis(redis: RedisClient): Promise<void> {
  await Promise.all((await mastersOf(redis)).map((master) => master.flushdb()));
}

const keyCount = async (redis: RedisClient) =>
  (await Promise.all((await mastersOf(redis)).map((master) => master.dbsize()))).reduce(
    (a, b) => a + b,
    0,
  );

/**
 * A Redis db that no other test run is using, for files that start workers: a worker drains
 * every job and event stream of its db, so sharing one with another file, another person's run
 * of the same file or the benchmark would let either take the other's work. Takes the first
 * empty candidate and marks it with a key only this run can set (SET NX), with a TTL so a killed
 * run frees it on its own. A cluster has db 0 only: the cluster run takes one file at a time
 * (jest.cluster.config.js), so the file takes the whole cluster, flushing what an earlier file
 * left, unless another run's mark is on it.
 */
export async function claimRedisDb(): Promise<OwnRedisDb> {
  const owner = `${process.pid}-${randomUUID()}`;
  const cluster = testConfig().redis.clusterNodes !== undefined;
  for (const db of cluster ? [0] : CANDIDATES) {
    const redis = createRedis(testConfig({ REDIS_DB: String(db) }), { maxRetriesPerRequest: 1 });
    if (cluster && (await redis.exists(MARKER_KEY)) === 0) await flushRedis(redis);
    if (
      (await keyCount(redis)) === 0 &&
      (await redis.set(MARKER_KEY, owner, 'PX', MARKER_TTL_MS, 'NX'))
    ) {
      return {
        db: String(db),
        mark: async () => {
          await redis.set(MARKER_KEY, owner, 'PX', MARKER_TTL_MS);
        },
        release: async () => {
          if ((await redis.get(MARKER_KEY)) === owner) await redis.del(MARKER_KEY);
          await redis.quit();
        },
      };
    }
    await redis.quit();
  }
  throw new Error(
    cluster
      ? 'The test cluster is marked taken by another run (or a killed one: scripts/redis-cluster.sh stop and start)'
      : `No free Redis db among ${CANDIDATES.join(', ')}: flush leftovers of killed runs`,
  );
}
