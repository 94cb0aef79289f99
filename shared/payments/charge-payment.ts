import type { EntityManager } from '@mikro-orm/postgresql';
import { CURRENCY } from '../catalogue/catalogue';
import { Order, OutboxEvent, Payment } from '../db/entities';
import type { Orm } from '../db/orm';
import { eventIdFor, type EventEnvelope } from '../events';
import { HOLD_RECORD_RETENTION_MS, type HoldContext } from '../holds/hold-context';
import { eventsKey, holdKey } from '../holds/keys';
import type { PaymentApproved } from '../orders/contracts';
import { rescheduleExpiry, type PaymentJob } from '../queues';
import { paymentMethod } from './methods';

/** After a decline the buyer has at least this long to try another card. */
export const RETRY_AFTER_DECLINE_MS = 60_000;

export type ChargeOutcome = 'approved' | 'declined' | 'nothing-to-do';

export interface ChargeDependencies {
  ctx: HoldContext;
  orm: Orm;
  /** Publishes with publisher confirms; resolves once RabbitMQ has the events. */
  publish: (events: EventEnvelope[]) => Promise<void>;
}

/**
 * "Charge the payment" of a paying hold, through its method. Approved → `payment.approved` goes
 * to RabbitMQ (confirmed) for the finaliser. Declined → the order is written `declined`, the hold
 * is `confirmed` again so the buyer can retry, its cleanup is rescheduled, and `payment.declined`
 * leaves through the outbox. Safe to run again for the same job: the gateway dedupes the charge
 * by order id, and every write is keyed by it.
 */
export async function chargePayment(
  deps: ChargeDependencies,
  job: PaymentJob,
): Promise<ChargeOutcome> {
  const { ctx } = deps;
  const hold = await ctx.redis.hgetall(holdKey(job.sessionId, job.holdId));
  if (hold.stage !== 'paying' || hold.orderId !== job.orderId) return 'nothing-to-do';

  const method = paymentMethod(hold.method!);
  const totalCents = Number(hold.totalCents);
  const result = await method.charge({
    token: hold.paymentToken!,
    amountCents: totalCents,
    currency: CURRENCY,
    reference: job.orderId,
  });
  const payment: PaymentApproved = {
    orderId: job.orderId,
    holdId: job.holdId,
    sessionId: job.sessionId,
    userId: hold.userId!,
    seatIds: hold.seatIds!.split(','),
    totalCents,
    currency: CURRENCY,
    method: method.name,
    cardLast4: hold.cardLast4 || null,
    gatewayReference: result.gatewayReference,
    requestedAt: Number(hold.orderCreatedAt),
  };
  if (result.approved) {
    await deps.publish([
      {
        id: eventIdFor(`payment.approved/${job.orderId}`),
        type: 'payment.approved',
        occurredAt: new Date().toISOString(),
        data: payment as unknown as Record<string, unknown>,
      },
    ]);
    return 'approved';
  }

  await recordDeclinedOrder(deps.orm, payment, result.reason);
  const [status, , expiresAt] = await ctx.scripts.settleHold(
    [holdKey(job.sessionId, job.holdId), eventsKey(job.sessionId)],
    [job.holdId, job.orderId, 'declined', RETRY_AFTER_DECLINE_MS, HOLD_RECORD_RETENTION_MS],
  );
  if (status === 'OK') {
    await rescheduleExpiry(ctx.queues, {
      holdId: job.holdId,
      sessionId: job.sessionId,
      stage: 'confirmed',
      expiresAt: Number(expiresAt),
    });
  }
  return 'declined';
}

async function recordDeclinedOrder(orm: Orm, p: PaymentApproved, reason: string): Promise<void> {
  const em = orm.em.fork() as EntityManager;
  await em.transactional(async (tx) => {
    if (await tx.findOne(Order, p.orderId, { fields: ['id'] })) return;
    const order = tx.create(Order, {
      id: p.orderId,
      user: p.userId,
      session: p.sessionId,
      holdId: p.holdId,
      status: 'declined',
      totalCents: p.totalCents,
      currency: p.currency,
      method: p.method,
      cardLast4: p.cardLast4,
      createdAt: new Date(p.requestedAt),
    });
    tx.create(Payment, {
      order,
      method: p.method,
      status: 'declined',
      amountCents: p.totalCents,
      currency: p.currency,
      cardLast4: p.cardLast4,
      gatewayReference: p.gatewayReference,
    });
    tx.create(OutboxEvent, {
      id: eventIdFor(`payment.declined/${p.orderId}`),
      type: 'payment.declined',
      payload: {
        orderId: p.orderId,
        holdId: p.holdId,
        sessionId: p.sessionId,
        userId: p.userId,
        reason,
      },
    });
  });
}
