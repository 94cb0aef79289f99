import { expireHold } from './expire-hold';
import type { HoldContext } from './hold-context';
import { EVENT_STREAMS_KEY, holdDeadlinesKey, holdKey, sessionOfEventsKey } from './keys';

/** How long past its expiry a hold may wait for its own cleanup job before the sweep steps in. */
export const SWEEP_GRACE_MS = 10_000;
const PER_SESSION = 500;

/**
 * The safety net under the cleanup jobs: expires live holds whose clock ran out more than
 * SWEEP_GRACE_MS ago. Normally there are none — each hold's delayed job got there first — but if
 * the API stopped between a hold's script and queuing its job, this is what emits that hold's
 * hold.expired and seat.released (its seats were free on time anyway, by TTL). Run every few
 * seconds by a BullMQ job scheduler; safe to run anywhere, any number of times.
 */
export async function sweepOverdueHolds(ctx: HoldContext, now = Date.now()): Promise<number> {
  let expired = 0;
  for (const stream of await ctx.redis.smembers(EVENT_STREAMS_KEY)) {
    const sessionId = sessionOfEventsKey(stream);
    const deadlines = holdDeadlinesKey(sessionId);
    const overdue = await ctx.redis.zrangebyscore(
      deadlines,
      '-inf',
      now - SWEEP_GRACE_MS,
      'LIMIT',
      0,
      PER_SESSION,
    );
    for (const holdId of overdue) {
      const [stage, expiresAt] = await ctx.redis.hmget(
        holdKey(sessionId, holdId),
        'stage',
        'expiresAt',
      );
      if (stage === 'held' || stage === 'confirmed') {
        const result = await expireHold(ctx, {
          holdId,
          sessionId,
          stage,
          expiresAt: Number(expiresAt),
        });
        if (result.outcome === 'expired') expired++;
        if (result.outcome !== 'not-due') continue;
      }
      // Settled, or its record is gone: nothing left to expire.
      await ctx.redis.zrem(deadlines, holdId);
    }
  }
  return expired;
}
