import { holdOutcomes } from '../metrics';
import type { HoldContext } from './hold-context';
import { eventsKey, holdKey } from './keys';
import type { HoldExpiryJob } from '../queues';
import { expiryJobId, scheduleExpiry } from '../queues';

export type ExpiryOutcome =
  | { outcome: 'expired' }
  | { outcome: 'not-due'; expiresAt: number }
  | { outcome: 'nothing-to-do'; reason: string };

/**
 * The cleanup a hold's delayed job runs when its clock runs out: marks the hold expired, frees
 * whatever seats it still owns and emits hold.expired + seat.released (scripts/end-hold.lua).
 * The seats themselves were already free, by their own TTL; this makes the record and the events
 * match. A job scheduled for an earlier stage or expiry finds the hold moved on and does nothing;
 * a paying hold is the payment reconciler's (shared/payments/reconcile-payments.ts), not this.
 */
export async function expireHold(ctx: HoldContext, job: HoldExpiryJob): Promise<ExpiryOutcome> {
  const [status, ...rest] = await ctx.scripts.endHold(
    [holdKey(job.sessionId, job.holdId), eventsKey(job.sessionId)],
    [job.holdId, 'expire', job.stage, job.expiresAt],
  );
  if (status === 'OK') {
    holdOutcomes.inc({ outcome: 'expired' });
    return { outcome: 'expired' };
  }
  if (status === 'NOT_DUE') return { outcome: 'not-due', expiresAt: Number(rest[0]) };
  if (status === 'STALE' && rest[0] === 'confirmed' && job.stage === 'held') {
    return ensureConfirmedCleanup(ctx, job, Number(rest[1]));
  }
  return { outcome: 'nothing-to-do', reason: status.toLowerCase() };
}

/**
 * A held-stage job that finds its hold confirmed: the confirmation job normally moved the cleanup
 * to the confirmed expiry, but the API may have stopped between confirming and queuing that job,
 * and then nothing would ever expire the hold (no hold.expired, no seat.released). Scheduling it
 * here is a no-op when it exists: its id is the hold's and the stage's.
 */
async function ensureConfirmedCleanup(
  ctx: HoldContext,
  job: HoldExpiryJob,
  expiresAt: number,
): Promise<ExpiryOutcome> {
  await scheduleExpiry(ctx.queues, {
    holdId: job.holdId,
    sessionId: job.sessionId,
    stage: 'confirmed',
    expiresAt,
  });
  return { outcome: 'nothing-to-do', reason: 'stale' };
}

/**
 * Runs for the confirmation job: the hold's 30 s cleanup is replaced by the one at its confirmed
 * expiry. Removing the old job is an optimisation (it would find the hold stale anyway).
 */
export async function moveCleanupToConfirmedExpiry(
  ctx: HoldContext,
  job: { holdId: string; sessionId: string; expiresAt: number },
): Promise<void> {
  await ctx.queues.expiry.remove(expiryJobId(job.holdId, 'held'));
  await scheduleExpiry(ctx.queues, { ...job, stage: 'confirmed' });
}
