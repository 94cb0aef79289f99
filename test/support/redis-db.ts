import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
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

/**
 * A Redis db that no other test run is using, for files that start workers: a worker drains
 * every job and event stream of its db, so sharing one with another file, another person's run
 * of the same file or the benchmark would let either take the other's work. Takes the first
 * empty candidate and marks it with a key only this run can set (SET NX), with a TTL so a killed
 * run frees it on its own.
 */
export async function claimRedisDb(): Promise<OwnRedisDb> {
  const { host, port } = testConfig().redis;
  const owner = `${process.pid}-${randomUUID()}`;
  for (const db of CANDIDATES) {
    const redis = new Redis({ host, port, db, maxRetriesPerRequest: 1 });
    if (
      (await redis.dbsize()) === 0 &&
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
    `No free Redis db among ${CANDIDATES.join(', ')}: flush leftovers of killed runs`,
  );
}
