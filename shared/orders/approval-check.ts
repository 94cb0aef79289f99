import type { HoldContext } from '../holds/hold-context';
import { holdKey } from '../holds/keys';
import type { PaymentApproved } from './contracts';

/** Stages in which a hold may meet its own order's approval: paying, or already settled by it. */
const STAGES_FOR_APPROVAL = new Set(['paying', 'paid', 'released']);

const sameSeats = (a: string[], b: string[]) =>
  a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');

/**
 * Why an approved payment must not become a sale, or null when it may: the approval has to match
 * the hold that is paying for that very order (same buyer, session, seats, total and method), as
 * the payment worker read it from Redis before charging. A forged message, a stale approval of an
 * order the hold has moved on from (declined, then paid again under a new order) or one replayed
 * for another order fails here. A hold already settled by this order passes: that is a
 * redelivery, which the finaliser's inbox turns into a no-op.
 */
export async function approvalMismatch(
  ctx: HoldContext,
  payment: PaymentApproved,
): Promise<string | null> {
  const hold = await ctx.redis.hgetall(holdKey(payment.sessionId, payment.holdId));
  if (!hold.stage) return 'no such hold';
  if (hold.orderId !== payment.orderId) return 'the hold is not paying for this order';
  if (!STAGES_FOR_APPROVAL.has(hold.stage)) return `the hold is ${hold.stage}, not paying`;
  if (hold.userId !== payment.userId) return 'the buyer differs from the hold';
  if (!sameSeats(hold.seatIds?.split(',') ?? [], payment.seatIds))
    return 'the seats differ from the hold';
  if (Number(hold.totalCents) !== payment.totalCents) return 'the total differs from the hold';
  if (hold.method !== payment.method) return 'the method differs from the hold';
  return null;
}
