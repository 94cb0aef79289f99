import { HOLD_RECORD_RETENTION_MS, type HoldContext } from '../holds/hold-context';
import { eventsKey, holdKey, orderHoldKey } from '../holds/keys';
import type { FinalOutcome } from './finalise-payments';

/**
 * Makes Redis agree with a sale Postgres has committed: a paid order's seats become sold (for
 * good, no TTL) and its hold `paid`; a failed one's seats are freed (scripts/settle-hold.lua).
 * Runs after the commit, and again on any redelivery, so it is idempotent.
 */
export async function settleSale(
  ctx: HoldContext,
  payment: { sessionId: string; holdId: string; orderId: string },
  outcome: FinalOutcome,
): Promise<void> {
  await ctx.scripts.settleHold(
    [holdKey(payment.sessionId, payment.holdId), eventsKey(payment.sessionId)],
    [payment.holdId, payment.orderId, outcome, 0, HOLD_RECORD_RETENTION_MS],
  );
  // The order is in Postgres now; the Redis pointer to it is no longer needed.
  await ctx.redis.del(orderHoldKey(payment.orderId));
}
