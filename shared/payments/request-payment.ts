import { randomUUID } from 'node:crypto';
import type { Catalogue } from '../catalogue/catalogue';
import { AppError } from '../errors';
import {
  authArgs,
  HOLD_RECORD_RETENTION_MS,
  type HoldAuth,
  type HoldContext,
} from '../holds/hold-context';
import { holdNotFound, refuseUnlessOk, sessionOfHold } from '../holds/hold-records';
import { holdKey, orderHoldKey } from '../holds/keys';
import { paymentJobId } from '../queues';
import { paymentMethod } from './methods';

export interface PaymentRequest {
  method: string;
  [field: string]: unknown;
}

export interface PaymentAccepted {
  orderId: string;
  status: 'processing';
}

/**
 * "Pay for the hold": checks the payment details with the chosen method (which swaps card data
 * for a gateway token), turns the confirmed hold into a paying one that cannot expire
 * (scripts/start-payment.lua) and queues the charge for the payment workers. Answers at once;
 * the order is then followed at GET /api/v1/orders/:orderId.
 */
export async function requestPayment(
  { ctx, catalogue }: { ctx: HoldContext; catalogue: Catalogue },
  holdId: string,
  auth: HoldAuth,
  request: PaymentRequest,
): Promise<PaymentAccepted> {
  const sessionId = await sessionOfHold(ctx, holdId);
  const seatIds = (await ctx.redis.hget(holdKey(sessionId, holdId), 'seatIds'))?.split(',');
  if (!seatIds) throw holdNotFound(holdId);
  const session = await catalogue.sessionLayout(sessionId);
  const prepared = paymentMethod(request.method).prepare(request);
  const orderId = randomUUID();

  const [status, stage, currentOrderId] = await ctx.scripts.startPayment(
    [holdKey(sessionId, holdId)],
    [
      holdId,
      ...authArgs(auth),
      orderId,
      prepared.method,
      prepared.token,
      prepared.cardLast4 ?? '',
      session.priceCents * seatIds.length,
    ],
  );
  refuseUnlessOk(status, holdId, stage);
  if (status !== 'OK') {
    throw new AppError(
      409,
      stage === 'held' ? 'HOLD_NOT_CONFIRMED' : 'HOLD_WRONG_STAGE',
      stage === 'held'
        ? 'Confirm the intent to buy before paying.'
        : `A hold that is ${stage} cannot be paid again.`,
      { holdId, stage, ...(currentOrderId ? { orderId: currentOrderId } : {}) },
    );
  }
  await Promise.all([
    ctx.redis.set(orderHoldKey(orderId), `${sessionId}/${holdId}`, 'PX', HOLD_RECORD_RETENTION_MS),
    ctx.queues.payments.add(
      'pay',
      { orderId, holdId, sessionId },
      { jobId: paymentJobId(orderId) },
    ),
  ]);
  return { orderId, status: 'processing' };
}
