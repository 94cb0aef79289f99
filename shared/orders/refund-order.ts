import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Order, OutboxEvent, Payment, Ticket } from '../db/entities';
import type { Orm } from '../db/orm';
import { AppError } from '../errors';
import { eventIdFor } from '../events';
import type { HoldContext } from '../holds/hold-context';
import { eventsKey, seatKey } from '../holds/keys';
import { paymentOutcomes } from '../metrics';
import { paymentMethod } from '../payments/methods';
import { orderNotFound } from './order-views';

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
  const seatIds = await em.transactional(async (tx) => {
    const order = await tx.findOne(Order, orderId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!order) throw orderNotFound(orderId);
    const tickets = await tx.find(Ticket, { order: orderId });
    if (order.status === 'refunded') return tickets.map((t) => t.seat.id);
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
        seatIds: tickets.map((t) => t.seat.id),
        totalCents: order.totalCents,
        refundReference,
        reason: 'requested',
      },
    });
    return tickets.map((t) => t.seat.id);
  });
  const order = await em.fork().findOneOrFail(Order, orderId);
  const sessionId = order.session.id;
  await ctx.scripts.releaseSoldSeats(
    [eventsKey(sessionId), ...seatIds.map((id) => seatKey(sessionId, id))],
    [orderId, sessionId, ...seatIds],
  );
  paymentOutcomes.inc({ outcome: 'refunded' });
  return { orderId, status: 'refunded', refundedAt: order.refundedAt!.toISOString() };
}
