import type { EntityManager } from '@mikro-orm/postgresql';
import { Order, ProcessedMessage, Receipt, Session, SessionSeat } from '../db/entities';
import { unprocessed } from '../db/inbox';
import type { Orm } from '../db/orm';
import type { OrderCompleted } from './contracts';

export const NOTIFIER = 'notifier';

export interface CompletedSaleMessage {
  eventId: string;
  sale: OrderCompleted;
}

/**
 * "Send the receipts": stores what each buyer is sent for a sale — what was bought, where, when,
 * the total and the card's last four digits — as a snapshot (later catalogue edits do not
 * rewrite it). A batch is one transaction with one query per table, not one per sale.
 * Idempotent: the inbox (and the receipt's key, its order) make a redelivery a no-op.
 */
export async function writeReceipts(orm: Orm, messages: CompletedSaleMessage[]): Promise<number> {
  const em = orm.em.fork() as EntityManager;
  return em.transactional(async (tx) => {
    const fresh = await unprocessed(tx, NOTIFIER, messages);
    if (fresh.length === 0) return 0;
    // One after the other: a transaction is one connection, and pg runs one query at a time.
    const sessions = await tx.find(
      Session,
      { id: { $in: fresh.map((m) => m.sale.sessionId) } },
      { populate: ['movie', 'room'] },
    );
    const seats = await tx.find(SessionSeat, { id: { $in: fresh.flatMap((m) => m.sale.seatIds) } });
    const orders = await tx.find(Order, { id: { $in: fresh.map((m) => m.sale.orderId) } });
    const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));
    const [sessionById, seatById, orderById] = [byId(sessions), byId(seats), byId(orders)];
    for (const { eventId, sale } of fresh) {
      const session = sessionById.get(sale.sessionId)!;
      const order = orderById.get(sale.orderId)!;
      const labels = sale.seatIds.map((id) => seatById.get(id)!.label).sort(byRowThenNumber);
      tx.create(Receipt, {
        order,
        body: {
          orderId: sale.orderId,
          movie: session.movie.title,
          room: session.room.name,
          startsAt: session.startsAt.toISOString(),
          seats: labels,
          totalCents: sale.totalCents,
          currency: sale.currency,
          cardLast4: order.cardLast4 ?? null,
          paidAt: sale.paidAt,
        },
      });
      tx.create(ProcessedMessage, { consumer: NOTIFIER, messageId: eventId });
    }
    return fresh.length;
  });
}

// "B2" after "A10": labels sort by row letters, then by seat number.
function byRowThenNumber(a: string, b: string): number {
  const [, rowA = '', numA = '0'] = a.match(/^([A-Z]+)(\d+)$/) ?? [];
  const [, rowB = '', numB = '0'] = b.match(/^([A-Z]+)(\d+)$/) ?? [];
  return rowA.length - rowB.length || rowA.localeCompare(rowB) || Number(numA) - Number(numB);
}
