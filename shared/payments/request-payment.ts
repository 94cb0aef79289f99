import { createHash, randomUUID } from 'node:crypto';
import type { Catalogue } from '../catalogue/catalogue';
import { AppError } from '../errors';
import {
  authArgs,
  HOLD_RECORD_RETENTION_MS,
  type HoldAuth,
  type HoldContext,
} from '../holds/hold-context';
import { refuseUnlessOk, sessionOfHold } from '../holds/hold-records';
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
 *
 * With an `idempotencyKey`, a retry gets the order the first attempt started, even when that
 * attempt's API instance died before answering (and before queuing the charge, which the retry
 * then does).
 */
export async function requestPayment(
  { ctx, catalogue }: { ctx: HoldContext; catalogue: Catalogue },
  holdId: string,
  auth: HoldAuth,
  request: PaymentRequest,
  idempotencyKey?: string,
): Promise<PaymentAccepted> {
  const sessionId = await sessionOfHold(ctx, holdId);
  const session = await catalogue.sessionLayout(sessionId);
  const prepared = paymentMethod(request.method).prepare(request);
  const newOrderId = randomUUID();

  const [status, stage, currentOrderId] = await ctx.scripts.startPayment(
    [holdKey(sessionId, holdId)],
    [
      holdId,
      ...authArgs(auth),
      newOrderId,
      prepared.method,
      prepared.token,
      prepared.cardLast4 ?? '',
      session.priceCents,
      idempotencyKey ? attemptKey(holdId, idempotencyKey) : '',
    ],
  );
  refuseUnlessOk(status, holdId, stage);
  if (status !== 'OK' && status !== 'REPLAY') {
    throw new AppError(
      409,
      stage === 'held' ? 'HOLD_NOT_CONFIRMED' : 'HOLD_WRONG_STAGE',
      stage === 'held'
        ? 'Confirm the intent to buy before paying.'
        : `A hold that is ${stage} cannot be paid again.`,
      { holdId, stage, ...(currentOrderId ? { orderId: currentOrderId } : {}) },
    );
  }
  // On a replay the first attempt may have stopped right after its script: both steps again
  // (the pointer is harmless once the order is in Postgres; the job id is the order's).
  const orderId = status === 'REPLAY' ? String(stage) : newOrderId;
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

/** What the hold remembers of an Idempotency-Key: a hash, scoped to the hold. */
const attemptKey = (holdId: string, idempotencyKey: string) =>
  createHash('sha256').update(`${holdId}\n${idempotencyKey}`).digest('hex').slice(0, 32);
