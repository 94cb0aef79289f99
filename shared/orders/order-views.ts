import type { EntityManager } from '@mikro-orm/postgresql';
import { Order, Receipt, Ticket } from '../db/entities';
import type { OrderStatus } from '../db/entities/order';
import type { Orm } from '../db/orm';
import { AppError } from '../errors';
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

export const orderNotFound = (orderId: string) =>
  new AppError(404, 'ORDER_NOT_FOUND', `No order with id ${orderId}.`, { orderId });

export interface OrderReadDependencies {
  orm: Orm;
  ctx: HoldContext;
  catalogue: Catalogue;
}

/**
 * An order as its buyer sees it. Until the finaliser has written it, it exists only as a paying
 * hold in Redis and reads as `processing`; from then on Postgres answers.
 */
export async function findOrder(deps: OrderReadDependencies, orderId: string): Promise<OrderView> {
  const written = () => writtenOrder(deps.orm, orderId);
  // The finaliser drops the Redis pointer right after its commit: an order written between the
  // first two reads is found by the third, rather than answered 404.
  const order = (await written()) ?? (await processingOrder(deps, orderId)) ?? (await written());
  if (!order) throw orderNotFound(orderId);
  return order;
}

async function writtenOrder(orm: Orm, orderId: string): Promise<OrderView | undefined> {
  const em = orm.em.fork() as EntityManager;
  const order = await em.findOne(Order, orderId);
  return order ? (await toViews(em, [order]))[0]! : undefined;
}

async function processingOrder(
  { ctx, catalogue }: OrderReadDependencies,
  orderId: string,
): Promise<OrderView | undefined> {
  const pointer = await ctx.redis.get(orderHoldKey(orderId));
  if (!pointer) return undefined;
  const [sessionId, holdId] = pointer.split('/') as [string, string];
  const hold = await ctx.redis.hgetall(holdKey(sessionId, holdId));
  if (hold.orderId !== orderId) return undefined;
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
    { orderBy: { createdAt: 'desc', id: 'desc' }, limit: pageSize, offset: (page - 1) * pageSize },
  );
  return { items: await toViews(em, orders), page, pageSize, total };
}

async function toViews(em: EntityManager, orders: Order[]): Promise<OrderView[]> {
  const ids = orders.map((o) => o.id);
  const [tickets, receipts] = await Promise.all([
    em.find(
      Ticket,
      { order: { $in: ids } },
      { populate: ['seat'], orderBy: { seat: { row: 'asc', number: 'asc' } } },
    ),
    em.find(Receipt, { order: { $in: ids } }),
  ]);
  return orders.map((o) => ({
    orderId: o.id,
    status: o.status,
    userId: o.user.id,
    sessionId: o.session.id,
    seats: tickets
      .filter((t) => t.order.id === o.id)
      .map((t) => ({ id: t.seat.id, label: t.seat.label })),
    totalCents: o.totalCents,
    currency: o.currency,
    method: o.method,
    cardLast4: o.cardLast4 ?? null,
    createdAt: o.createdAt.toISOString(),
    paidAt: o.paidAt?.toISOString() ?? null,
    refundedAt: o.refundedAt?.toISOString() ?? null,
    receipt: receipts.find((r) => r.order.id === o.id)?.body ?? null,
  }));
}
