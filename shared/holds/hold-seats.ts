import { randomUUID } from 'node:crypto';
import type { Catalogue, SessionLayout } from '../catalogue/catalogue';
import type { Directory } from '../catalogue/directory';
import { AppError, notFound } from '../errors';
import { nameBasedUuid } from '../ids';
import { holdOutcomes } from '../metrics';
import { scheduleExpiry } from '../queues';
import { HOLD_RECORD_RETENTION_MS, secondsUntil, type HoldContext } from './hold-context';
import { newHoldToken, hashHoldToken, sealHoldToken, unsealHoldToken } from './hold-token';
import type { HoldStage } from './hold-records';
import type { ScriptReply } from './scripts';
import {
  EVENT_STREAMS_KEY,
  eventsKey,
  holdKey,
  holdSessionKey,
  seatKey,
  userSeatsKey,
} from './keys';

export interface HoldRequest {
  userId: string;
  seatIds: string[];
}

export interface HoldCreated {
  holdId: string;
  /** The secret every later step of this hold needs. Shown once, stored only as a hash. */
  holdToken: string;
  userId: string;
  sessionId: string;
  seatIds: string[];
  /** `held`, unless this is a retry that finds its hold has moved on since. */
  stage: HoldStage;
  expiresAt: string;
  expiresInSeconds: number;
}

export interface HoldSeatsDependencies {
  ctx: HoldContext;
  directory: Directory;
  catalogue: Catalogue;
}

const OUTCOME_OF_STATUS: Record<string, string> = {
  OK: 'created',
  SEAT_UNAVAILABLE: 'conflict',
  NO_SEATS_TOGETHER: 'no_seats',
  NO_SEATS_AVAILABLE: 'no_seats',
  HOLD_LIMIT: 'limit',
};

export const seatsNotFound = (seatIds: string[]) =>
  new AppError(404, 'SEAT_NOT_FOUND', 'Some seats do not exist.', { seatIds });

// Sessions whose event stream this process has already registered for the relay.
const registeredStreams = new Set<string>();

/**
 * Holds seats for a user: all of them or none, first click wins. Everything is decided by one
 * atomic Lua script (scripts/hold-seats.lua) in one Redis round trip; what comes before it only
 * reads in-process caches, so no Postgres query is made per request once they are warm.
 *
 * With an `idempotencyKey` the hold's id is derived from it (and the buyer and seats), and its
 * token is kept sealed under it: a retry whose first attempt died before answering finds that
 * hold and gets the same answer, instead of being refused its own seats.
 */
export async function holdSeats(
  { ctx, directory, catalogue }: HoldSeatsDependencies,
  { userId, seatIds }: HoldRequest,
  idempotencyKey?: string,
): Promise<HoldCreated> {
  const sessionOfSeat = await directory.sessionsOfSeats(seatIds);
  const unknownSeats = seatIds.filter((id) => !sessionOfSeat.has(id));
  if (unknownSeats.length > 0) {
    throw seatsNotFound(unknownSeats);
  }
  const sessionIds = [...new Set(sessionOfSeat.values())];
  if (sessionIds.length > 1) {
    throw new AppError(
      400,
      'SEATS_IN_SEVERAL_SESSIONS',
      'All seats of a hold must belong to one session.',
      {
        sessionIds,
      },
    );
  }
  const sessionId = sessionIds[0]!;
  await openSession(ctx, catalogue, sessionId);

  const hold = newHold(
    userId,
    sessionId,
    `hold/${userId}/${[...seatIds].sort().join(',')}`,
    idempotencyKey,
  );
  const { keys, args } = holdScriptInput(ctx, hold);
  const reply = await ctx.scripts.holdSeats(
    [...keys, ...seatIds.map((id) => seatKey(sessionId, id))],
    [...args, ...seatIds],
  );
  return answerOf(ctx, hold, reply, () => seatIds, {
    SEAT_UNAVAILABLE: (taken) =>
      new AppError(409, 'SEAT_UNAVAILABLE', 'Some seats are already held or sold.', {
        seatIds: taken.map(String),
      }),
  });
}

/**
 * A buyer named by id alone (the seed routes' `usuario_id`) must exist (404 USER_NOT_FOUND
 * otherwise). A signed-in buyer needs no such check: their token's signature proves it.
 */
export async function requireUser(directory: Directory, userId: string): Promise<void> {
  if (!(await directory.userExists(userId))) {
    throw notFound('user', userId);
  }
}

/**
 * The session a hold is asked in, which must exist (404) and not have started (409
 * SESSION_STARTED); its event stream is registered for the relay the first time.
 */
export async function openSession(
  ctx: HoldContext,
  catalogue: Catalogue,
  sessionId: string,
): Promise<SessionLayout> {
  const session = await catalogue.sessionLayout(sessionId);
  if (Date.parse(session.startsAt) <= Date.now()) {
    throw new AppError(409, 'SESSION_STARTED', 'This session has already started.', { sessionId });
  }
  const streamKey = eventsKey(sessionId);
  if (!registeredStreams.has(streamKey)) {
    await ctx.redis.sadd(EVENT_STREAMS_KEY, streamKey);
    registeredStreams.add(streamKey);
  }
  return session;
}

/** A hold about to be asked of a script: whose, in which session, its id and its token. */
export interface NewHold {
  userId: string;
  sessionId: string;
  holdId: string;
  holdToken: string;
  idempotencyKey?: string;
}

/**
 * The new hold's id and token. With an Idempotency-Key the id is derived from `request` (what
 * the request asks, buyer included) and the key, so a retry of a request that died finds the
 * hold its first attempt made (the script answers REPLAY); without one it is random.
 */
export function newHold(
  userId: string,
  sessionId: string,
  request: string,
  idempotencyKey?: string,
): NewHold {
  const holdId = idempotencyKey ? nameBasedUuid(`${request}/${idempotencyKey}`) : randomUUID();
  return { userId, sessionId, holdId, holdToken: newHoldToken(), idempotencyKey };
}

/** KEYS[1..3] and ARGV[1..8] of the scripts that create a hold (hold-seats.lua's header). */
export function holdScriptInput(ctx: Pick<HoldContext, 'settings'>, hold: NewHold) {
  const { userId, sessionId, holdId, holdToken, idempotencyKey } = hold;
  return {
    keys: [holdKey(sessionId, holdId), userSeatsKey(sessionId, userId), eventsKey(sessionId)],
    args: [
      holdId,
      userId,
      sessionId,
      hashHoldToken(holdToken),
      ctx.settings.ttlSeconds * 1000,
      ctx.settings.maxSeatsPerHold,
      HOLD_RECORD_RETENTION_MS,
      idempotencyKey ? sealHoldToken(holdToken, holdId, idempotencyKey) : '',
    ],
  };
}

/**
 * The answer to a hold-creating script's reply: `OK` is the new hold (its session pointer and
 * cleanup job added), `REPLAY` the first attempt's hold, `HOLD_LIMIT` a 429, and each status of
 * `refusals` its error (given what follows the status). `seatIdsOf` reads the held seats.
 */
export async function answerOf(
  ctx: HoldContext,
  hold: NewHold,
  [status, ...rest]: ScriptReply,
  seatIdsOf: (rest: (string | number)[]) => string[],
  refusals: Record<string, (rest: (string | number)[]) => AppError>,
): Promise<HoldCreated> {
  const { userId, sessionId, holdId, holdToken } = hold;
  if (status === 'REPLAY') return holdAgain(ctx, sessionId, holdId, hold.idempotencyKey!);
  holdOutcomes.inc({ outcome: OUTCOME_OF_STATUS[status] ?? 'unknown' });
  const refusal = refusals[status];
  if (refusal) throw refusal(rest);
  if (status === 'HOLD_LIMIT') {
    throw new AppError(
      429,
      'HOLD_LIMIT',
      `A user may hold at most ${ctx.settings.maxSeatsPerHold} seats of one session at once.`,
      { limit: ctx.settings.maxSeatsPerHold, alreadyHeld: Number(rest[0]) },
    );
  }
  if (status !== 'OK') throw new Error(`Unexpected hold script answer ${status}`);
  const expiresAt = Number(rest[0]);
  await trackHold(ctx, sessionId, holdId, expiresAt);
  return {
    holdId,
    holdToken,
    userId,
    sessionId,
    seatIds: seatIdsOf(rest),
    stage: 'held',
    expiresAt: new Date(expiresAt).toISOString(),
    expiresInSeconds: secondsUntil(expiresAt),
  };
}

/** What follows the script: the hold id's session pointer and its 30 s cleanup job. */
async function trackHold(ctx: HoldContext, sessionId: string, holdId: string, expiresAt: number) {
  await Promise.all([
    ctx.redis.set(holdSessionKey(holdId), sessionId, 'PXAT', expiresAt + HOLD_RECORD_RETENTION_MS),
    scheduleExpiry(ctx.queues, { holdId, sessionId, stage: 'held', expiresAt }),
  ]);
}

/**
 * The answer of a hold request that ran before: the first attempt's hold, token included, with
 * its steps after the script done again (both are no-ops if they had been done).
 */
async function holdAgain(
  ctx: HoldContext,
  sessionId: string,
  holdId: string,
  idempotencyKey: string,
): Promise<HoldCreated> {
  const hold = await ctx.redis.hgetall(holdKey(sessionId, holdId));
  const expiresAt = Number(hold.expiresAt);
  if (hold.stage === 'held') await trackHold(ctx, sessionId, holdId, expiresAt);
  return {
    holdId,
    holdToken: unsealHoldToken(hold.sealedToken!, holdId, idempotencyKey),
    userId: hold.userId!,
    sessionId,
    seatIds: hold.seatIds!.split(','),
    stage: hold.stage as HoldStage,
    expiresAt: new Date(expiresAt).toISOString(),
    expiresInSeconds: secondsUntil(expiresAt),
  };
}
