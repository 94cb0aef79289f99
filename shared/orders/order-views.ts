import type { EntityManager } from '@mikro-orm/postgresql';
import { Order } from '../db/entities';
import type { OrderStatus } from '../db/entities/order';
import type { Orm } from '../db/orm';
import { notFound } from '../errors';
import type { HoldContext } from '../holds/hold-context';
import { holdKey, orderHoldKey } from '../holds/keys';
import type { Catalogue } from '../catalogue/catalogue';

export interface OrderView {
  orderId: string;
  status: OrderStatus;
  userId: string;
  sessionId: string;
  seats: { id: string; label: string }[];
  totalCents: number;
  currency: string;
  method: string;
  cardLast4: string | null;
  createdAt: string;
  paidAt: string | null;
  refundedAt: string | null;
  receipt: Record<string, unknown> | null;
}

export interface OrderReadDependencies {
  orm: Orm;
  ctx: HoldContext;
  catalogue: Catalogue;
}

/**
 * An order as its buyer sees it. While its payment runs it exists only as a paying hold in Redis
 * and reads as `processing`; once the hold has left `paying` for this order, Postgres has it:
 * the payment and finaliser workers commit an outcome before they settle the hold. So Redis is
 * asked first, and only a settled order costs a Postgres query.
 */
export async function findOrder(deps: OrderReadDependencies, orderId: string): Promise<OrderView> {
  const order = (await processingOrder(deps, orderId)) ?? (await writtenOrder(deps.orm, orderId));
  if (!order) throw notFound('order', orderId);
  return order;
}

async function writtenOrder(orm: Orm, orderId: string): Promise<OrderView | undefined> {
  return (await orderViews(orm.em.fork() as EntityManager, [orderId]))[0];
}

async function processingOrder(
  { ctx, catalogue }: OrderReadDependencies,
  orderId: string,
): Promise<OrderView | undefined> {
  const pointer = await ctx.redis.get(orderHoldKey(orderId));
  if (!pointer) return undefined;
  const [sessionId, holdId] = pointer.split('/') as [string, string];
  const hold = await ctx.redis.hgetall(holdKey(sessionId, holdId));
  if (hold.stage !== 'paying' || hold.orderId !== orderId) return undefined;
  const layout = await catalogue.sessionLayout(sessionId);
  const seatIds = new Set(hold.seatIds!.split(','));
  return {
    orderId,
    status: 'processing',
    userId: hold.userId!,
    sessionId,
    seats: layout.seats.filter((s) => seatIds.has(s.id)).map(({ id, label }) => ({ id, label })),
    totalCents: Number(hold.totalCents),
    currency: layout.currency,
    method: hold.method!,
    cardLast4: hold.cardLast4 || null,
    createdAt: new Date(Number(hold.orderCreatedAt)).toISOString(),
    paidAt: null,
    refundedAt: null,
    receipt: null,
  };
}

export interface OrderPage {
  items: OrderView[];
  page: number;
  pageSize: number;
  total: number;
}

/** A user's purchase history, newest first (orders the finaliser has written). */
export async function listUserOrders(
  orm: Orm,
  userId: string,
  page: number,
  pageSize: number,
): Promise<OrderPage> {
  const em = orm.em.fork() as EntityManager;
  const [orders, total] = await em.findAndCount(
    Order,
    { user: userId },
    {
      fields: ['id'],
      orderBy: { createdAt: 'desc', id: 'desc' },
      limit: pageSize,
      offset: (page - 1) * pageSize,
    },
  );
  const views = new Map(
    (
      await orderViews(
        em,
        orders.map((o) => o.id),
      )
    ).map((v) => [v.orderId, v]),
  );
  return { items: orders.map((o) => views.get(o.id)!), page, pageSize, total };
}

interface OrderViewRow {
  id: string;
  status: OrderStatus;
  user_id: string;
  session_id: string;
  total_cents: number;
  currency: string;
  method: string;
  card_last4: string | null;
  created_at: string;
  paid_at: string | null;
  refunded_at: string | null;
  receipt: Record<string, unknown> | null;
  seats: { id: string; label: string }[];
}

/** A timestamptz column as JSON dates are written (`2026-11-28T14:55:15.944Z`), or null. */
const isoInstant = (column: string) =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Written orders with their seats and receipt, in one query: the order read is on every buyer's
 * checkout (it answers `Prefer: wait`), where three ORM queries and their entities cost the API
 * more than the rest of the request.
 */
async function orderViews(em: EntityManager, orderIds: string[]): Promise<OrderView[]> {
  if (orderIds.length === 0) return [];
  const rows = await em.getConnection().execute<OrderViewRow[]>(
    `select o.id, o.status, o.user_id, o.session_id, o.total_cents, o.currency, o.method,
            o.card_last4, ${isoInstant('o.created_at')} as created_at,
            ${isoInstant('o.paid_at')} as paid_at, ${isoInstant('o.refunded_at')} as refunded_at,
            (select r.body from receipts r where r.order_id = o.id) as receipt,
            coalesce((select json_agg(json_build_object('id', s.id, 'label', s.label)
                                      order by s."row", s.number)
                        from tickets t join session_seats s on s.id = t.seat_id
                       where t.order_id = o.id), '[]'::json) as seats
       from orders o
      where o.id in (?)`,
    [orderIds],
  );
  return rows.map((o) => ({
    orderId: o.id,
    status: o.status,
    userId: o.user_id,
    sessionId: o.session_id,
    seats: o.seats,
    totalCents: o.total_cents,
    currency: o.currency,
    method: o.method,
    cardLast4: o.card_last4,
    createdAt: o.created_at,
    paidAt: o.paid_at,
    refundedAt: o.refunded_at,
    receipt: o.receipt,
  }));
}
