import { randomUUID } from 'node:crypto';
import { AppError } from '../errors';
import { orderWaitsKey } from '../holds/keys';
import type { RedisClient } from '../redis';

/** The longest `Prefer: wait` honoured, in seconds (§4.3); a longer one waits this long. */
export const MAX_WAIT_SECONDS = 30;
/** Open `Prefer: wait` reads a caller may have at once, across every API instance (§4.3). */
export const MAX_OPEN_WAITS = 5;
/** How long a refused caller is asked to wait before trying again. */
const RETRY_AFTER_SECONDS = 5;
/**
 * Beyond a wait's own length, how long its entry may outlive it: the reads before and after the
 * wait, and clocks of API hosts that disagree a little.
 */
const SLACK_MS = 5_000;
/** The caller's key outlives the longest wait it may hold, then goes on its own. */
const KEY_TTL_MS = MAX_WAIT_SECONDS * 1000 + SLACK_MS;

/**
 * Counts each caller's open waits in Redis, so the cap holds whichever instances the waits
 * reach. Taking a slot is one MULTI on the caller's key: drop entries past their deadline, add
 * this one, count. A wait that finds itself over the cap removes itself again and is refused, so
 * however many ask at once, at most MAX_OPEN_WAITS are ever admitted.
 */
export class OrderWaits {
  constructor(private readonly redis: RedisClient) {}

  /**
   * A slot for a wait of up to `ms` (at most MAX_WAIT_SECONDS) by `waiter` (a buyer id, or 'admin'), or 429 WAITS_LIMIT. The
   * returned function gives the slot back.
   */
  async take(waiter: string, ms: number): Promise<() => Promise<void>> {
    const key = orderWaitsKey(waiter);
    const id = randomUUID();
    const now = Date.now();
    const replies = await this.redis
      .multi()
      .zremrangebyscore(key, '-inf', now)
      .zadd(key, now + ms + SLACK_MS, id)
      .zcard(key)
      .pexpire(key, KEY_TTL_MS)
      .exec();
    const open = Number(replies?.[2]?.[1]);
    const release = async () => {
      await this.redis.zrem(key, id);
    };
    if (open > MAX_OPEN_WAITS) {
      await release();
      throw new AppError(
        429,
        'TOO_MANY_WAITS',
        `At most ${MAX_OPEN_WAITS} order reads may wait at once; this one was refused.`,
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
    return release;
  }

  /** The caller's waits open now (for tests). */
  async open(waiter: string): Promise<number> {
    return this.redis.zcount(orderWaitsKey(waiter), Date.now(), '+inf');
  }
}
