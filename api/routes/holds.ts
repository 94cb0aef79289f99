import type { RequestHandler } from 'express';
import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { Directory } from '../../shared/catalogue/directory';
import { confirmIntent } from '../../shared/holds/confirm-intent';
import type { HoldContext } from '../../shared/holds/hold-context';
import { readHold } from '../../shared/holds/hold-records';
import { holdBestSeats } from '../../shared/holds/hold-best-seats';
import { holdSeats } from '../../shared/holds/hold-seats';
import { releaseHold } from '../../shared/holds/release-hold';
import { AppError } from '../../shared/errors';
import type { HoldAuth } from '../../shared/holds/hold-context';
import type { RouteSpec } from '../http/route';
import { buyerOf, type Caller } from '../middleware/caller-auth';
import { asciiToken, errorResponse, idempotencyKey, idParam, uuid } from '../http/schemas';

export interface HoldRouteDependencies {
  ctx: HoldContext;
  directory: Directory;
  catalogue: Catalogue;
  /** The hold rate limit's middleware: none when limits are off. */
  rateLimit: RequestHandler[];
}

const holdFields = {
  holdId: uuid(),
  userId: uuid(),
  sessionId: uuid(),
  seatIds: Joi.array().items(uuid()),
  stage: Joi.string().valid('held', 'confirmed', 'paying', 'paid', 'expired', 'released'),
  expiresAt: Joi.string().isoDate(),
  expiresInSeconds: Joi.number().integer(),
};
export const holdCreatedView = Joi.object({ ...holdFields, holdToken: Joi.string() }).label(
  'HoldCreated',
);
const holdView = Joi.object(holdFields).label('Hold');
export const intentConfirmedView = Joi.object({
  holdId: uuid(),
  stage: Joi.string().valid('confirmed'),
  expiresAt: Joi.string().isoDate(),
  expiresInSeconds: Joi.number().integer(),
}).label('IntentConfirmed');

/** Seat ids of one request: 1 to MAX_SEATS_PER_HOLD distinct seats. */
export const seatIdsSchema = (max: number) => Joi.array().items(uuid()).min(1).max(max).unique();

const buyerField = uuid().description('Optional; if sent, the signed-in buyer');

/**
 * The body of POST /api/v1/holds, in one of two forms: `seatIds` (these seats), or `sessionId`
 * with `quantity` (the best available, §4.8). A body with `seatIds` is the first form, so extra
 * best-available fields in it are refused by name; any other body is the second.
 */
export const holdRequestSchema = (max: number) =>
  Joi.alternatives()
    .conditional('.seatIds', {
      is: Joi.exist(),
      then: Joi.object({
        userId: buyerField,
        seatIds: seatIdsSchema(max).required(),
      }).description('These seats, all or nothing'),
      otherwise: Joi.object({
        userId: buyerField,
        sessionId: uuid()
          .required()
          .messages({ 'any.required': '{{#label}} is required (or send seatIds instead)' }),
        quantity: Joi.number().strict().integer().min(1).max(max).required(),
        together: Joi.boolean()
          .strict()
          .default(true)
          .description('true: adjacent seats in one row; false: the best seats, even if apart'),
      }).description('Best available: the server picks the seats'),
    })
    .label('HoldRequest');

const holdTokenHeader = Joi.object({
  'x-hold-token': asciiToken(200).description('The holdToken returned when the hold was created'),
});

/**
 * The signed-in buyer acting on their hold with its token. A missing token is the same refusal
 * as a wrong one (403, never a validation 400), and so is another buyer's hold.
 */
export const ownerAuth = (
  caller: Caller | undefined,
  headers: Record<string, string | undefined>,
): HoldAuth => ({ kind: 'owner', userId: buyerOf(caller), token: headers['x-hold-token'] ?? '' });

/** The buyer of a new hold: the caller; a `userId` in the body may only repeat it. */
function buyerOfHold(caller: Caller | undefined, userId: string | undefined): string {
  const buyer = buyerOf(caller);
  if (userId !== undefined && userId !== buyer)
    throw new AppError(403, 'FORBIDDEN', 'A buyer holds seats for themselves only.', {
      field: 'userId',
    });
  return buyer;
}

export const HOLD_ERRORS = {
  401: errorResponse('UNAUTHENTICATED: no valid buyer access token'),
  404: errorResponse('HOLD_NOT_FOUND'),
  403: errorResponse("FORBIDDEN: missing or wrong X-Hold-Token, or another buyer's hold"),
  410: errorResponse('HOLD_EXPIRED: the hold expired or was released'),
  409: errorResponse('HOLD_WRONG_STAGE'),
  429: errorResponse('RATE_LIMITED (with Retry-After)'),
};

export function holdRoutes(deps: HoldRouteDependencies, maxSeatsPerHold: number): RouteSpec[] {
  const { ctx, rateLimit } = deps;
  return [
    {
      method: 'post',
      path: '/api/v1/holds',
      tag: 'Holds',
      summary: 'Hold seats of one session: all or nothing, first click wins; or the best available',
      auth: 'buyer',
      idempotent: true,
      before: rateLimit,
      headers: Joi.object({ 'idempotency-key': idempotencyKey() }),
      body: holdRequestSchema(maxSeatsPerHold),
      responses: {
        201: { description: 'Held; keep holdToken, it is shown once', schema: holdCreatedView },
        400: errorResponse('VALIDATION_FAILED, or SEATS_IN_SEVERAL_SESSIONS'),
        401: errorResponse('UNAUTHENTICATED'),
        403: errorResponse('FORBIDDEN: userId is not the signed-in buyer'),
        404: errorResponse('SEAT_NOT_FOUND, or SESSION_NOT_FOUND (best available)'),
        409: errorResponse(
          'SEAT_UNAVAILABLE (seatIds lists the taken seats), NO_SEATS_TOGETHER or ' +
            'NO_SEATS_AVAILABLE (best available: nothing fits; seatsAvailable), or SESSION_STARTED',
        ),
        422: errorResponse('IDEMPOTENCY_KEY_REUSED with a different body'),
        429: errorResponse(
          'HOLD_LIMIT (seats per user per session) or RATE_LIMITED (with Retry-After)',
        ),
      },
      handler: async ({ body, headers, caller }) => {
        const userId = buyerOfHold(caller, body.userId);
        const key = headers['idempotency-key'];
        return {
          status: 201,
          body: body.seatIds
            ? await holdSeats(deps, { userId, seatIds: body.seatIds }, key)
            : await holdBestSeats(
                deps,
                {
                  userId,
                  sessionId: body.sessionId,
                  quantity: body.quantity,
                  together: body.together,
                },
                key,
              ),
        };
      },
    },
    {
      method: 'get',
      path: '/api/v1/holds/:holdId',
      tag: 'Holds',
      summary: "A hold's current stage and expiry",
      auth: 'buyer',
      params: idParam('holdId'),
      headers: holdTokenHeader,
      responses: { 200: { description: 'The hold', schema: holdView }, ...HOLD_ERRORS },
      handler: async ({ params, headers, caller }) => ({
        status: 200,
        body: await readHold(ctx, params.holdId, ownerAuth(caller, headers)),
      }),
    },
    {
      method: 'post',
      path: '/api/v1/holds/:holdId/confirm',
      tag: 'Holds',
      summary: 'Confirm intent to buy: the seats are kept for CONFIRMED_HOLD_TTL_SECONDS from now',
      before: rateLimit,
      auth: 'buyer',
      params: idParam('holdId'),
      headers: holdTokenHeader,
      responses: { 200: { description: 'Confirmed', schema: intentConfirmedView }, ...HOLD_ERRORS },
      handler: async ({ params, headers, caller }) => ({
        status: 200,
        body: await confirmIntent(ctx, params.holdId, ownerAuth(caller, headers)),
      }),
    },
    {
      method: 'delete',
      path: '/api/v1/holds/:holdId',
      tag: 'Holds',
      summary: 'Release the hold: its seats are available at once',
      before: rateLimit,
      auth: 'buyer',
      params: idParam('holdId'),
      headers: holdTokenHeader,
      responses: { 204: { description: 'Released (or had already ended)' }, ...HOLD_ERRORS },
      handler: async ({ params, headers, caller }) => {
        await releaseHold(ctx, params.holdId, ownerAuth(caller, headers));
        return { status: 204 };
      },
    },
  ];
}
