import type { EntityManager } from '@mikro-orm/postgresql';
import type { SessionLayout } from '../catalogue/catalogue';
import { Order, ProcessedMessage, Receipt } from '../db/entities';
import { unprocessed } from '../db/inbox';
import type { Orm } from '../db/orm';
import type { OrderCompleted } from './contracts';

export const NOTIFIER = 'notifier';

export interface CompletedSaleMessage {
  eventId: string;
  sale: OrderCompleted;
}

/** Where a receipt's movie, room, start and seat labels come from (Catalogue: cached per process). */
export interface SessionLayouts {
  sessionLayout(sessionId: string): Promise<SessionLayout>;
}

/**
 * "Send the receipts": stores what each buyer is sent for a sale — what was bought, where, when,
 * the total and the card's last four digits — as a snapshot (later catalogue edits do not
 * rewrite it). A batch is one transaction: the inbox check, one read of the orders' cards and
 * one multi-row insert per table, however many sales it holds; sessions and seats never change,
 * so they come from the catalogue's per-process cache, not from a query per batch.
 * Idempotent: the inbox (and the receipt's key, its order) make a redelivery a no-op.
 */
export async function writeReceipts(
  orm: Orm,
  layouts: SessionLayouts,
  messages: CompletedSaleMessage[],
): Promise<number> {
  const em = orm.em.fork() as EntityManager;
  return em.transactional(async (tx) => {
    const fresh = await unprocessed(tx, NOTIFIER, messages);
    if (fresh.length === 0) return 0;
    const sessionIds = [...new Set(fresh.map((m) => m.sale.sessionId))];
    // Each session's seat labels by id, once per batch, not once per sale.
    const sessions = new Map(
      await Promise.all(
        sessionIds.map(async (id) => {
          const layout = await layouts.sessionLayout(id);
          const labelOf = new Map(layout.seats.map((seat) => [seat.id, seat.label]));
          return [id, { layout, labelOf }] as const;
        }),
      ),
    );
    const orders = await tx.find(
      Order,
      { id: { $in: fresh.map((m) => m.sale.orderId) } },
      { fields: ['id', 'cardLast4'] },
    );
    const cardOf = new Map(orders.map((o) => [o.id, o.cardLast4 ?? null]));
    const now = new Date();
    await tx.insertMany(
      Receipt,
      fresh.map(({ sale }) => {
        const { layout: session, labelOf } = sessions.get(sale.sessionId)!;
        return {
          order: sale.orderId,
          body: {
            orderId: sale.orderId,
            movie: session.movie.title,
            room: session.room.name,
            startsAt: session.startsAt,
            seats: sale.seatIds.map((id) => labelOf.get(id)!).sort(byRowThenNumber),
            totalCents: sale.totalCents,
            currency: sale.currency,
            cardLast4: cardOf.get(sale.orderId) ?? null,
            paidAt: sale.paidAt,
          },
          createdAt: now,
        };
      }),
    );
    await tx.insertMany(
      ProcessedMessage,
      fresh.map(({ eventId }) => ({ consumer: NOTIFIER, messageId: eventId, processedAt: now })),
    );
    return fresh.length;
  });
}

// "B2" after "A10": labels sort by row letters, then by seat number.
function byRowThenNumber(a: string, b: string): number {
  const [, rowA = '', numA = '0'] = a.match(/^([A-Z]+)(\d+)$/) ?? [];
  const [, rowB = '', numB = '0'] = b.match(/^([A-Z]+)(\d+)$/) ?? [];
  return rowA.length - rowB.length || rowA.localeCompare(rowB) || Number(numA) - Number(numB);
}
