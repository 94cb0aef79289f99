import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Order, OutboxEvent, Payment, ProcessedMessage, Ticket } from '../db/entities';
import { unprocessed } from '../db/inbox';
import type { Orm } from '../db/orm';
import { eventIdFor, type EventType } from '../events';
import type { Logger } from '../logger';
import { paymentMethod } from './methods';
import type { OrderCompleted, PaymentApproved } from '../orders/contracts';

export const FINALISER = 'finaliser';

export interface ApprovedPaymentMessage {
  /** The event id: the inbox key that makes a redelivery change nothing. */
  eventId: string;
  payment: PaymentApproved;
}

export type FinalOutcome = 'paid' | 'failed';

const outboxEvent = (tx: EntityManager, type: EventType, orderId: string, payload: object) =>
  tx.create(OutboxEvent, {
    id: eventIdFor(`${type}/${orderId}`),
    type,
    payload: payload as Record<string, unknown>,
  });

/**
 * "Finalise the payments": writes each approved payment as a paid order with its tickets and
 * payment, in one transaction per batch (one commit for many sales) with a savepoint per sale.
 * A sale whose seat is already sold (the partial unique index on active tickets fires) is
 * refunded through its payment method and written as a failed order instead. The inbox makes
 * a redelivered message a no-op; the outbox carries order.completed / order.failed /
 * order.refunded out in the same commit. Returns each order's final outcome, including orders
 * finalised by an earlier delivery, so the caller can settle Redis for all of them.
 */
export async function finalisePayments(
  orm: Orm,
  messages: ApprovedPaymentMessage[],
  logger: Logger,
): Promise<Map<string, FinalOutcome>> {
  const em = orm.em.fork() as EntityManager;
  try {
    // The common case, every seat free: the whole batch at once (one insert per table).
    await em.fork().transactional(async (tx) => {
      await insertSales(tx, await unprocessed(tx, FINALISER, messages));
    });
  } catch (err) {
    if (!isSeatAlreadySold(err)) throw err;
    // Some sale lost its seat: redo the batch sale by sale, each in a savepoint, so that only
    // the losers are refunded.
    await em.fork().transactional(async (tx) => {
      for (const message of await unprocessed(tx, FINALISER, messages)) {
        try {
          await tx.transactional((sale) => insertSales(sale, [message]));
        } catch (saleErr) {
          if (!isSeatAlreadySold(saleErr)) throw saleErr;
          logger.warn('seat already sold: refunding', { orderId: message.payment.orderId });
          await tx.transactional((sale) => addFailedSale(sale, message));
        }
      }
    });
  }
  const orders = await em
    .fork()
    .find(
      Order,
      { id: { $in: messages.map((m) => m.payment.orderId) } },
      { fields: ['id', 'status'] },
    );
  return new Map(orders.map((o) => [o.id, o.status === 'paid' ? 'paid' : 'failed']));
}

/** Only the active-ticket index means "sold twice"; any other conflict is a concurrent redelivery. */
const isSeatAlreadySold = (err: unknown) =>
  err instanceof UniqueConstraintViolationException &&
  err.message.includes('tickets_active_seat_unique');

/**
 * Writes sales as paid with one multi-row insert per table (MikroORM's insertMany: no unit of
 * work to track, since nothing here is read back), so a batch costs five statements however
 * many sales it holds.
 */
async function insertSales(tx: EntityManager, messages: ApprovedPaymentMessage[]) {
  if (messages.length === 0) return;
  const paidAt = new Date();
  const sales = messages.map(({ payment }) => payment);
  await tx.insertMany(
    Order,
    sales.map((p) => ({
      id: p.orderId,
      user: p.userId,
      session: p.sessionId,
      holdId: p.holdId,
      status: 'paid' as const,
      totalCents: p.totalCents,
      currency: p.currency,
      method: p.method,
      cardLast4: p.cardLast4,
      createdAt: new Date(p.requestedAt),
      paidAt,
    })),
  );
  await tx.insertMany(
    Ticket,
    sales.flatMap((p) =>
      p.seatIds.map((seatId) => ({
        id: randomUUID(),
        order: p.orderId,
        seat: seatId,
        status: 'active' as const,
        priceCents: Math.round(p.totalCents / p.seatIds.length),
        createdAt: paidAt,
      })),
    ),
  );
  await tx.insertMany(
    Payment,
    sales.map((p) => ({
      id: randomUUID(),
      order: p.orderId,
      method: p.method,
      status: 'approved' as const,
      amountCents: p.totalCents,
      currency: p.currency,
      cardLast4: p.cardLast4,
      gatewayReference: p.gatewayReference,
      createdAt: paidAt,
    })),
  );
  await tx.insertMany(
    ProcessedMessage,
    messages.map(({ eventId }) => ({
      consumer: FINALISER,
      messageId: eventId,
      processedAt: paidAt,
    })),
  );
  await tx.insertMany(
    OutboxEvent,
    sales.map((p) => {
      const completed: OrderCompleted = {
        orderId: p.orderId,
        userId: p.userId,
        sessionId: p.sessionId,
        seatIds: p.seatIds,
        totalCents: p.totalCents,
        currency: p.currency,
        paidAt: paidAt.toISOString(),
      };
      return {
        id: eventIdFor(`order.completed/${p.orderId}`),
        type: 'order.completed',
        payload: completed as unknown as Record<string, unknown>,
        occurredAt: paidAt,
        publishedAt: null,
      };
    }),
  );
}

async function addFailedSale(tx: EntityManager, { eventId, payment: p }: ApprovedPaymentMessage) {
  const { refundReference } = await paymentMethod(p.method).refund({
    gatewayReference: p.gatewayReference,
    amountCents: p.totalCents,
  });
  const now = new Date();
  const order = tx.create(Order, {
    id: p.orderId,
    user: p.userId,
    session: p.sessionId,
    holdId: p.holdId,
    status: 'failed',
    totalCents: p.totalCents,
    currency: p.currency,
    method: p.method,
    cardLast4: p.cardLast4,
    createdAt: new Date(p.requestedAt),
    refundedAt: now,
  });
  tx.create(Payment, {
    order,
    method: p.method,
    status: 'refunded',
    amountCents: p.totalCents,
    currency: p.currency,
    cardLast4: p.cardLast4,
    gatewayReference: p.gatewayReference,
    refundedAt: now,
  });
  tx.create(ProcessedMessage, { consumer: FINALISER, messageId: eventId });
  const base = { orderId: p.orderId, userId: p.userId, sessionId: p.sessionId, seatIds: p.seatIds };
  outboxEvent(tx, 'order.failed', p.orderId, { ...base, reason: 'seat_already_sold' });
  outboxEvent(tx, 'order.refunded', p.orderId, {
    ...base,
    totalCents: p.totalCents,
    refundReference,
    reason: 'seat_already_sold',
  });
  await tx.flush();
}
