import { AppError } from '../errors';
import { confirmationJobId } from '../queues';
import {
  authArgs,
  HOLD_RECORD_RETENTION_MS,
  secondsUntil,
  type HoldAuth,
  type HoldContext,
} from './hold-context';
import { refuseUnlessOk, sessionOfHold } from './hold-records';
import { eventsKey, holdKey } from './keys';

export interface IntentConfirmed {
  holdId: string;
  stage: 'confirmed';
  expiresAt: string;
  expiresInSeconds: number;
}

/**
 * "Confirm intent to buy": the hold's seats are kept for CONFIRMED_HOLD_TTL_SECONDS from now
 * (scripts/confirm-hold.lua). Confirming twice is harmless and does not restart the clock. The
 * confirmation job then moves the hold's cleanup to the new expiry.
 */
export async function confirmIntent(
  ctx: HoldContext,
  holdId: string,
  auth: HoldAuth,
): Promise<IntentConfirmed> {
  const sessionId = await sessionOfHold(ctx, holdId);
  const [status, ...rest] = await ctx.scripts.confirmHold(
    [holdKey(sessionId, holdId), eventsKey(sessionId)],
    [holdId, ...authArgs(auth), ctx.settings.confirmedTtlSeconds * 1000, HOLD_RECORD_RETENTION_MS],
  );
  refuseUnlessOk(status, holdId, rest[0]);
  if (status !== 'OK') {
    throw new AppError(409, 'HOLD_WRONG_STAGE', `A hold that is ${rest[0]} cannot be confirmed.`, {
      holdId,
      stage: rest[0],
    });
  }
  const expiresAt = Number(rest[0]);
  await ctx.queues.confirmation.add(
    'confirm',
    { holdId, sessionId, expiresAt },
    { jobId: confirmationJobId(holdId) },
  );
  return {
    holdId,
    stage: 'confirmed',
    expiresAt: new Date(expiresAt).toISOString(),
    expiresInSeconds: secondsUntil(expiresAt),
  };
}
