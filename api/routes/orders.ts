import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { Orm } from '../../shared/db/orm';
import type { HoldContext } from '../../shared/holds/hold-context';
import { findOrder, listUserOrders } from '../../shared/orders/order-views';
import { refundOrder } from '../../shared/orders/refund-order';
import { paymentMethods } from '../../shared/payments/methods';
import { requestPayment } from '../../shared/payments/request-payment';
import type { RouteSpec } from '../http/route';
import { errorResponse, idParam, uuid } from '../http/schemas';
import { HOLD_ERRORS, tokenAuth, type HoldRouteDependencies } from './holds';

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

export const PAYMENT_RESPONSES = {
  202: { description: 'Accepted; follow the order', schema: paymentAccepted },
  ...HOLD_ERRORS,
  409: errorResponse('HOLD_NOT_CONFIRMED or HOLD_WRONG_STAGE (paying, paid)'),
  422: errorResponse('IDEMPOTENCY_KEY_REUSED with a different body'),
};

export function orderRoutes(
  deps: HoldRouteDependencies & { orm: Orm; catalogue: Catalogue; ctx: HoldContext },
): RouteSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/holds/:holdId/payment',
      tag: 'Payments',
      summary: 'Pay for a confirmed hold (credit_card, debit_card or pix); runs in the workers',
      idempotent: true,
      before: [deps.rateLimit],
      params: idParam('holdId'),
      headers: Joi.object({
        'x-hold-token': Joi.string().max(200),
        'idempotency-key': Joi.string().min(1).max(200),
      }),
      body: paymentBodySchema(),
      responses: PAYMENT_RESPONSES,
      handler: async ({ params, headers, body }) => ({
        status: 202,
        body: await requestPayment(
          deps,
          params.holdId,
          tokenAuth(headers),
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
      params: idParam('orderId'),
      responses: {
        200: { description: 'The order', schema: orderView },
        404: errorResponse('ORDER_NOT_FOUND'),
      },
      handler: async ({ params }) => ({ status: 200, body: await findOrder(deps, params.orderId) }),
    },
    {
      method: 'get',
      path: '/api/v1/users/:userId/orders',
      tag: 'Orders',
      summary: "A user's purchase history, newest first",
      params: idParam('userId'),
      query: Joi.object({
        page: Joi.number().integer().min(1).max(10_000).default(1),
        pageSize: Joi.number().integer().min(1).max(100).default(20),
      }),
      responses: {
        200: {
          description: 'One page of orders',
          schema: Joi.object({
            items: Joi.array().items(orderView),
            page: Joi.number(),
            pageSize: Joi.number(),
            total: Joi.number(),
          }).label('OrderPage'),
        },
      },
      handler: async ({ params, query }) => ({
        status: 200,
        body: await listUserOrders(deps.orm, params.userId, query.page, query.pageSize),
      }),
    },
    {
      method: 'post',
      path: '/api/v1/orders/:orderId/refund',
      tag: 'Orders',
      summary: 'Refund a paid order (admin): money back, seats on sale again',
      admin: true,
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
