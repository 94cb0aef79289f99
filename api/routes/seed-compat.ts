import Joi from 'joi';
import type { BuyerAccounts } from '../../shared/auth/buyer-accounts';
import { confirmIntent } from '../../shared/holds/confirm-intent';
import { holdOfSeat } from '../../shared/holds/hold-records';
import { holdSeats, requireUser, seatsNotFound } from '../../shared/holds/hold-seats';
import { requestPayment } from '../../shared/payments/request-payment';
import { AppError } from '../../shared/errors';
import type { RouteSpec } from '../http/route';
import { errorResponse, idempotencyKey, uuid } from '../http/schemas';
import {
  HOLD_ERRORS,
  holdCreatedView,
  intentConfirmedView,
  seatIdsSchema,
  type HoldRouteDependencies,
} from './holds';
import { PAYMENT_RESPONSES, paymentBodySchema } from './orders';
import { seatMapView } from './sessions';
import { userView } from './users';

/**
 * The routes of the original seed README (§4.4), answering exactly as their /api/v1 twins: same
 * use cases, same status codes and bodies. They name a user and a seat instead of a hold and its
 * token, so the holder is whoever `usuario_id` says.
 */
/** The seed's user list is one page: enough for a demo, bounded for a big database. */
const SEED_USER_LIST_LIMIT = 1_000;

export function seedCompatRoutes(
  deps: HoldRouteDependencies & { accounts: BuyerAccounts },
  maxSeatsPerHold: number,
): RouteSpec[] {
  const { accounts, catalogue, directory, ctx, rateLimit } = deps;

  /** The seed routes name a seat, not a hold: the hold is whichever currently holds the seat. */
  const holdOfUserSeat = async (seatId: string) => {
    const sessionId = (await directory.sessionsOfSeats([seatId])).get(seatId);
    if (!sessionId) throw seatsNotFound([seatId]);
    const holdId = await holdOfSeat(ctx, sessionId, seatId);
    if (!holdId) throw new AppError(410, 'HOLD_EXPIRED', 'No live hold on this seat.', { seatId });
    return holdId;
  };

  return [
    {
      method: 'get',
      path: '/seed/users',
      tag: 'Seed-compatible',
      summary: 'The users, as the seed listed them (development only: exists while SEED_ROUTES=on)',
      responses: { 200: { description: 'Every user', schema: Joi.array().items(userView) } },
      handler: async () => ({
        status: 200,
        body: (await accounts.listUsers(1, SEED_USER_LIST_LIMIT)).items,
      }),
    },
    {
      method: 'get',
      path: '/sessao/todas',
      tag: 'Seed-compatible',
      summary: 'Every session with its seats and their live status',
      responses: { 200: { description: 'Seat maps', schema: Joi.array().items(seatMapView) } },
      handler: async () => ({ status: 200, body: await catalogue.allSeatMaps() }),
    },
    {
      method: 'post',
      path: '/reserva/assento',
      tag: 'Seed-compatible',
      summary: 'Same as POST /api/v1/holds, for one seat (assento_id) or several (assento_ids)',
      idempotent: true,
      before: rateLimit,
      headers: Joi.object({ 'idempotency-key': idempotencyKey() }),
      body: Joi.object({
        usuario_id: uuid().required(),
        assento_id: uuid(),
        assento_ids: seatIdsSchema(maxSeatsPerHold),
      }).xor('assento_id', 'assento_ids'),
      responses: {
        201: { description: 'Held', schema: holdCreatedView },
        404: errorResponse('USER_NOT_FOUND or SEAT_NOT_FOUND'),
        409: errorResponse('SEAT_UNAVAILABLE'),
        429: errorResponse('HOLD_LIMIT or RATE_LIMITED'),
      },
      handler: async ({ body, req }) => {
        await requireUser(deps.directory, body.usuario_id);
        return {
          status: 201,
          body: await holdSeats(
            deps,
            { userId: body.usuario_id, seatIds: body.assento_ids ?? [body.assento_id] },
            req.get('idempotency-key'),
          ),
        };
      },
    },
    {
      method: 'post',
      path: '/reserva/confirma-intencao',
      tag: 'Seed-compatible',
      summary: "Same as POST /api/v1/holds/:holdId/confirm, for the user's hold on that seat",
      before: rateLimit,
      body: Joi.object({ usuario_id: uuid().required(), assento_id: uuid().required() }),
      responses: { 200: { description: 'Confirmed', schema: intentConfirmedView }, ...HOLD_ERRORS },
      handler: async ({ body }) => {
        const holdId = await holdOfUserSeat(body.assento_id);
        return {
          status: 200,
          body: await confirmIntent(ctx, holdId, { kind: 'user', userId: body.usuario_id }),
        };
      },
    },
    {
      method: 'post',
      path: '/reserva/pagamento',
      tag: 'Seed-compatible',
      summary:
        "Same as POST /api/v1/holds/:holdId/payment, for the user's hold on that seat (default pix)",
      idempotent: true,
      before: rateLimit,
      headers: Joi.object({ 'idempotency-key': idempotencyKey() }),
      body: paymentBodySchema(
        { usuario_id: uuid().required(), assento_id: uuid().required() },
        { defaultMethod: 'pix' },
      ),
      responses: PAYMENT_RESPONSES,
      handler: async ({ body: { usuario_id, assento_id, ...payment }, req }) => {
        const holdId = await holdOfUserSeat(assento_id);
        const auth = { kind: 'user', userId: usuario_id } as const;
        return {
          status: 202,
          body: await requestPayment(deps, holdId, auth, payment, req.get('idempotency-key')),
        };
      },
    },
  ];
}
