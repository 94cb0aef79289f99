import type { EntityManager } from '@mikro-orm/postgresql';
import { Order, ProcessedMessage, Receipt, Session, SessionSeat } from '../db/entities';
import type { Orm } from '../db/orm';
import type { OrderCompleted } from './contracts';

export const NOTIFIER = 'notifier';

/**
 * "Send the receipt": stores what the buyer is sent for a sale — what was bought, where, when,
 * the total and the card's last four digits — as a snapshot (later catalogue edits do not rewrite
 * it). Idempotent: the inbox and the receipt's key (its order) make a redelivery a no-op.
 */
export async function writeReceipt(
  orm: Orm,
  eventId: string,
  sale: OrderCompleted,
): Promise<boolean> {
  const em = orm.em.fork() as EntityManager;
  return em.transactional(async (tx) => {
    if (await tx.findOne(ProcessedMessage, { consumer: NOTIFIER, messageId: eventId }))
      return false;
    const session = await tx.findOneOrFail(Session, sale.sessionId, {
      populate: ['movie', 'room'],
    });
    const seats = await tx.find(
      SessionSeat,
      { id: { $in: sale.seatIds } },
      { orderBy: { row: 'asc', number: 'asc' } },
    );
    const order = await tx.findOneOrFail(Order, sale.orderId);
    tx.create(Receipt, {
      order,
      body: {
        orderId: sale.orderId,
        movie: session.movie.title,
        room: session.room.name,
        startsAt: session.startsAt.toISOString(),
        seats: seats.map((s) => s.label),
        totalCents: sale.totalCents,
        currency: sale.currency,
        cardLast4: order.cardLast4 ?? null,
        paidAt: sale.paidAt,
      },
    });
    tx.create(ProcessedMessage, { consumer: NOTIFIER, messageId: eventId });
    return true;
  });
}
