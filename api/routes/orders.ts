import type { Response } from 'express';
import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { Orm } from '../../shared/db/orm';
import type { HoldContext } from '../../shared/holds/hold-context';
import {
  findOrder,
  listUserOrders,
  type OrderReadDependencies,
  type OrderView,
} from '../../shared/orders/order-views';
import { MAX_OPEN_WAITS, MAX_WAIT_SECONDS, type OrderWaits } from '../../shared/orders/order-waits';
import { refundOrder } from '../../shared/payments/refund-order';
import { paymentMethods } from '../../shared/payments/methods';
import { requestPayment } from '../../shared/payments/request-payment';
import { notFound } from '../../shared/errors';
import type { RouteSpec } from '../http/route';
import type { OrderSettlements } from '../live/order-settlements';
import {
  asciiToken,
  errorResponse,
  idempotencyKey,
  idParam,
  pageQuery,
  pageView,
  uuid,
} from '../http/schemas';
import { buyerOf, type Caller } from '../middleware/caller-auth';
import { HOLD_ERRORS, ownerAuth, type HoldRouteDependencies } from './holds';

/**
 * The body of a payment: `method` picks the strategy, whose own fields (e.g. `card`) are then
 * required. Built from the registered methods, so a new method needs no change here.
 */
export function paymentBodySchema(
  extra: Record<string, Joi.Schema> = {},
  options: { defaultMethod?: string } = {},
): Joi.Schema {
  const names = [...paymentMethods.keys()];
  const methods = [...paymentMethods.values()].sort((a) =>
    a.name === options.defaultMethod ? -1 : 0,
  );
  return Joi.alternatives()
    .conditional('.method', {
      switch: methods.map((method) =>
        method.name === options.defaultMethod
          ? // A bare `is` schema also matches a missing method: that is the default.
            {
              is: Joi.valid(method.name),
              then: Joi.object({
                ...extra,
                method: Joi.string().default(method.name),
                ...method.fields,
              }),
            }
          : {
              is: method.name,
              then: Joi.object({ ...extra, method: Joi.string().required(), ...method.fields }),
            },
      ),
      otherwise: Joi.object({
        ...extra,
        method: Joi.string()
          .valid(...names)
          .required(),
      }).unknown(),
    })
    .label('PaymentRequest');
}

const paymentAccepted = Joi.object({
  orderId: uuid(),
  status: Joi.string().valid('processing'),
}).label('PaymentAccepted');

const orderView = Joi.object({
  orderId: uuid(),
  status: Joi.string().valid('processing', 'paid', 'declined', 'refunded', 'failed'),
  userId: uuid(),
  sessionId: uuid(),
  seats: Joi.array().items(Joi.object({ id: uuid(), label: Joi.string() })),
  totalCents: Joi.number().integer(),
  currency: Joi.string(),
  method: Joi.string(),
  cardLast4: Joi.string().allow(null),
  createdAt: Joi.string().isoDate(),
  paidAt: Joi.string().isoDate().allow(null),
  refundedAt: Joi.string().isoDate().allow(null),
  receipt: Joi.object().allow(null),
}).label('Order');

const orderPage = pageView(orderView, 'OrderPage');

/** An order or a history is its buyer's, and any admin's, to read. */
const mayRead = (caller: Caller | undefined, ownerId: string) =>
  caller?.kind === 'admin' || (caller?.kind === 'buyer' && caller.userId === ownerId);

export const PAYMENT_RESPONSES = {
  202: { description: 'Accepted; follow the order', schema: paymentAccepted },
  ...HOLD_ERRORS,
  409: errorResponse('HOLD_NOT_CONFIRMED or HOLD_WRONG_STAGE (paying, paid)'),
  422: errorResponse('IDEMPOTENCY_KEY_REUSED with a different body'),
};

/**
 * The `wait` preference of a Prefer header (RFC 7240: `Prefer: wait=10`, possibly among other
 * preferences), at most MAX_WAIT_SECONDS; undefined when there is none or it is not a number
 * (a preference the server does not understand is ignored, not refused).
 */
export function preferredWait(prefer: string | undefined): number | undefined {
  for (const preference of prefer?.split(',') ?? []) {
    const seconds = /^\s*wait\s*=\s*"?(\d{1,6})"?\s*(;.*)?$/i.exec(preference)?.[1];
    if (seconds !== undefined) return Math.min(Number(seconds), MAX_WAIT_SECONDS);
  }
  return undefined;
}

/**
 * The order once it has left `processing`, or as it is after `seconds`: the client learns the
 * outcome of its payment with one request instead of polling. The caller must have a free wait
 * slot (MAX_OPEN_WAITS across instances); the watch starts before the order is read, so a
 * settlement in between is not missed; `readable` refuses an order the caller may not read,
 * before anything waits. The wait ends as soon as its client disconnects: nobody is left to
 * answer, and the slot and the watch go back at once.
 */
async function outcomeOf(
  deps: OrderReadDependencies & { settlements: OrderSettlements; waits: OrderWaits },
  {
    orderId,
    seconds,
    waiter,
    res,
  }: { orderId: string; seconds: number; waiter: string; res: Response },
  readable: (order: OrderView) => OrderView,
): Promise<OrderView> {
  if (seconds === 0) return readable(await findOrder(deps, orderId));
  const release = await deps.waits.take(waiter, seconds * 1000);
  let clientGone!: () => void;
  const gone = new Promise<void>((resolve) => (clientGone = resolve));
  res.once('close', clientGone);
  const watch = await deps.settlements.watch(orderId).catch(async (err: unknown) => {
    res.off('close', clientGone);
    await release();
    throw err;
  });
  try {
    const order = readable(await findOrder(deps, orderId));
    if (order.status !== 'processing') return order;
    const disconnected = await Promise.race([
      watch.until(seconds * 1000).then(() => false),
      gone.then(() => true),
    ]);
    return disconnected ? order : await findOrder(deps, orderId);
  } finally {
    res.off('close', clientGone);
    watch.stop();
    await release();
  }
}

/**
 * Whose waits a read counts against: the buyer's, or, for the admin token (one credential,
 * however many people hold it), one shared count, so no caller can hold waits without bound.
 */
const waiterOf = (caller: Caller | undefined) =>
  caller?.kind === 'buyer' ? caller.userId : 'admin';

export function orderRoutes(
  deps: HoldRouteDependencies & {
    orm: Orm;
    catalogue: Catalogue;
    ctx: HoldContext;
    settlements: OrderSettlements;
    waits: OrderWaits;
  },
): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/holds/:holdId/payment',
      tag: 'Payments',
      summary: 'Pay for a confirmed hold (credit_card, debit_card or pix); runs in the workers',
      auth: 'buyer',
      idempotent: true,
      before: deps.rateLimit,
      params: idParam('holdId'),
      headers: Joi.object({
        'x-hold-token': asciiToken(200),
        'idempotency-key': idempotencyKey(),
      }),
      body: paymentBodySchema(),
      responses: PAYMENT_RESPONSES,
      handler: async ({ params, headers, body, caller }) => ({
        status: 202,
        body: await requestPayment(
          deps,
          params.holdId,
          ownerAuth(caller, headers),
          body,
          headers['idempotency-key'],
        ),
      }),
    },
    {
      method: 'get',
      path: '/api/v1/orders/:orderId',
      tag: 'Orders',
      summary:
        'An order: processing until the sale is written, then paid, declined, failed or refunded',
      auth: 'buyer-or-admin',
      params: idParam('orderId'),
      headers: Joi.object({
        prefer: Joi.string()
          .max(200)
          .description(
            `wait=N (N ≤ ${MAX_WAIT_SECONDS}): answer as soon as the order leaves processing, or after N seconds with its status then (RFC 7240; Preference-Applied says it was honoured). At most ${MAX_OPEN_WAITS} such reads open per caller at once; a wait ends when its client disconnects`,
          ),
      }),
      responses: {
        200: { description: 'The order', schema: orderView },
        401: errorResponse('UNAUTHENTICATED'),
        404: errorResponse("ORDER_NOT_FOUND (also for another buyer's order: ids leak nothing)"),
        429: errorResponse(
          `TOO_MANY_WAITS: the caller already has ${MAX_OPEN_WAITS} waiting reads open (with Retry-After)`,
        ),
      },
      handler: async ({ params, headers, caller, req }) => {
        const readable = (order: OrderView) => {
          if (!mayRead(caller, order.userId)) throw notFound('order', params.orderId);
          return order;
        };
        const wait = preferredWait(headers.prefer);
        if (wait === undefined) {
          return { status: 200, body: readable(await findOrder(deps, params.orderId)) };
        }
        return {
          status: 200,
          body: await outcomeOf(
            deps,
            { orderId: params.orderId, seconds: wait, waiter: waiterOf(caller), res: req.res! },
            readable,
          ),
          headers: { 'Preference-Applied': `wait=${wait}`, Vary: 'Prefer' },
        };
      },
    },
    {
      method: 'get',
      path: '/api/v1/me/orders',
      tag: 'Orders',
      summary: "The signed-in buyer's purchase history, newest first",
      auth: 'buyer',
      query: pageQuery(),
      responses: { 200: { description: 'One page of orders', schema: orderPage } },
      handler: async ({ query, caller }) => ({
        status: 200,
        body: await listUserOrders(deps.orm, buyerOf(caller), query.page, query.pageSize),
      }),
    },
    {
      method: 'get',
      path: '/api/v1/users/:userId/orders',
      tag: 'Orders',
      summary: "A user's purchase history, newest first (that user or an admin)",
      auth: 'buyer-or-admin',
      params: idParam('userId'),
      query: pageQuery(),
      responses: {
        200: { description: 'One page of orders', schema: orderPage },
        401: errorResponse('UNAUTHENTICATED'),
        404: errorResponse('USER_NOT_FOUND (also for another buyer: ids leak nothing)'),
      },
      handler: async ({ params, query, caller }) => {
        if (!mayRead(caller, params.userId)) throw notFound('user', params.userId);
        return {
          status: 200,
          body: await listUserOrders(deps.orm, params.userId, query.page, query.pageSize),
        };
      },
    },
    {
      method: 'post',
      path: '/api/v1/orders/:orderId/refund',
      tag: 'Orders',
      summary: 'Refund a paid order (admin): money back, seats on sale again',
      auth: 'admin',
      params: idParam('orderId'),
      responses: {
        200: {
          description: 'Refunded',
          schema: Joi.object({
            orderId: uuid(),
            status: 'refunded',
            refundedAt: Joi.string().isoDate(),
          }),
        },
        404: errorResponse('ORDER_NOT_FOUND'),
        409: errorResponse('ORDER_NOT_REFUNDABLE'),
      },
      handler: async ({ params }) => ({
        status: 200,
        body: await refundOrder(deps, params.orderId),
      }),
    },
  ];
}
