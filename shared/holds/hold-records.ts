import { timingSafeEqual } from 'node:crypto';
import { AppError, notFound } from '../errors';
import { secondsUntil, type HoldAuth, type HoldContext } from './hold-context';
import { hashHoldToken } from './hold-token';
import { holdKey, holdSessionKey, seatKey } from './keys';

export type HoldStage = 'held' | 'confirmed' | 'paying' | 'paid' | 'expired' | 'released';

export interface HoldView {
  holdId: string;
  userId: string;
  sessionId: string;
  seatIds: string[];
  stage: HoldStage;
  expiresAt: string;
  expiresInSeconds: number;
}

export const forbidden = () =>
  new AppError(403, 'FORBIDDEN', 'The hold token is missing or does not match this hold.');
export const holdExpired = (holdId: string, stage: string) =>
  new AppError(410, 'HOLD_EXPIRED', 'This hold has ended; its seats are no longer reserved.', {
    holdId,
    stage,
  });

/**
 * The refusals every hold script shares, as HTTP errors: no such hold (404), not yours (403),
 * already over (410). Any other status is left to the caller, which knows its own stage rules.
 */
export function refuseUnlessOk(status: string, holdId: string, stage: unknown): void {
  if (status === 'NOT_FOUND') throw notFound('hold', holdId);
  if (status === 'FORBIDDEN') throw forbidden();
  if (status === 'EXPIRED') throw holdExpired(holdId, String(stage));
}

/** The session a hold belongs to (its keys' hash tag), or 404. */
export async function sessionOfHold(ctx: HoldContext, holdId: string): Promise<string> {
  const sessionId = await ctx.redis.get(holdSessionKey(holdId));
  if (!sessionId) throw notFound('hold', holdId);
  return sessionId;
}

/** The hold a seat is currently held by, for the seed routes that name a seat, not a hold. */
export async function holdOfSeat(ctx: HoldContext, sessionId: string, seatId: string) {
  const owner = await ctx.redis.get(seatKey(sessionId, seatId));
  return owner && !owner.includes(':') ? owner : null;
}

function authorized(record: Record<string, string>, auth: HoldAuth): boolean {
  if (record.userId !== auth.userId) return false;
  if (auth.kind === 'user') return true;
  const expected = Buffer.from(record.tokenHash ?? '', 'hex');
  const presented = Buffer.from(hashHoldToken(auth.token), 'hex');
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

/**
 * A hold as its buyer sees it. A live stage whose clock has run out reads as `expired` at once,
 * whether or not the cleanup job has run yet.
 */
export async function readHold(
  ctx: HoldContext,
  holdId: string,
  auth: HoldAuth,
): Promise<HoldView> {
  const sessionId = await sessionOfHold(ctx, holdId);
  const record = await ctx.redis.hgetall(holdKey(sessionId, holdId));
  if (!record.stage) throw notFound('hold', holdId);
  if (!authorized(record, auth)) throw forbidden();
  const expiresAt = Number(record.expiresAt);
  const live = record.stage === 'held' || record.stage === 'confirmed';
  const stage = (live && expiresAt <= Date.now() ? 'expired' : record.stage) as HoldStage;
  return {
    holdId,
    userId: record.userId!,
    sessionId,
    seatIds: (record.seatIds ?? '').split(','),
    stage,
    expiresAt: new Date(expiresAt).toISOString(),
    expiresInSeconds: stage === 'held' || stage === 'confirmed' ? secondsUntil(expiresAt) : 0,
  };
}
