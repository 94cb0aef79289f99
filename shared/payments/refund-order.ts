import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Order, OutboxEvent, Payment, Ticket } from '../db/entities';
import type { Orm } from '../db/orm';
import { AppError, notFound } from '../errors';
import { eventIdFor } from '../events';
import type { HoldContext } from '../holds/hold-context';
import { eventsKey, seatKey } from '../holds/keys';
import { paymentOutcomes } from '../metrics';
import { paymentMethod } from './methods';

/**
 * "Refund the order" (admin): money back through the order's payment method, the order, its
 * tickets and payment marked refunded and `order.refunded` in the outbox — one transaction —
 * then its seats freed in Redis so they can be sold again. Refunding twice refunds once.
 */
export async function refundOrder(
  { orm, ctx }: { orm: Orm; ctx: HoldContext },
  orderId: string,
): Promise<{ orderId: string; status: 'refunded'; refundedAt: string }> {
  const em = orm.em.fork() as EntityManager;
  // What the transaction leaves for Redis: the order's seats, and whether this call refunded it.
  const done = await em.transactional(async (tx) => {
    const order = await tx.findOne(Order, orderId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!order) throw notFound('order', orderId);
    const tickets = await tx.find(Ticket, { order: orderId });
    const seatIds = tickets.map((t) => t.seat.id);
    const outcome = { seatIds, sessionId: order.session.id, refundedAt: order.refundedAt };
    if (order.status === 'refunded') return { ...outcome, refundedNow: false };
    if (order.status !== 'paid') {
      throw new AppError(
        409,
        'ORDER_NOT_REFUNDABLE',
        `An order that is ${order.status} cannot be refunded.`,
        {
          orderId,
          status: order.status,
        },
      );
    }
    const payment = await tx.findOneOrFail(Payment, { order: orderId });
    const { refundReference } = await paymentMethod(order.method).refund({
      gatewayReference: payment.gatewayReference,
      amountCents: payment.amountCents,
    });
    const now = new Date();
    order.status = 'refunded';
    order.refundedAt = now;
    payment.status = 'refunded';
    payment.refundedAt = now;
    for (const ticket of tickets) ticket.status = 'refunded';
    tx.create(OutboxEvent, {
      id: eventIdFor(`order.refunded/${orderId}`),
      type: 'order.refunded',
      payload: {
        orderId,
        userId: order.user.id,
        sessionId: order.session.id,
        seatIds,
        totalCents: order.totalCents,
        refundReference,
        reason: 'requested',
      },
    });
    return { ...outcome, refundedAt: now, refundedNow: true };
  });
  // Also on a repeated refund: freeing the seats is idempotent, and a crash may have skipped it.
  await ctx.scripts.releaseSoldSeats(
    [eventsKey(done.sessionId), ...done.seatIds.map((id) => seatKey(done.sessionId, id))],
    [orderId, done.sessionId, ...done.seatIds],
  );
  if (done.refundedNow) paymentOutcomes.inc({ outcome: 'refunded' });
  return { orderId, status: 'refunded', refundedAt: done.refundedAt!.toISOString() };
}
