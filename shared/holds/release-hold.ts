import { AppError } from '../errors';
import { holdOutcomes } from '../metrics';
import { authArgs, type HoldAuth, type HoldContext } from './hold-context';
import { refuseUnlessOk, sessionOfHold } from './hold-records';
import { eventsKey, holdKey } from './keys';

/**
 * The buyer lets the seats go: they are available at once (scripts/end-hold.lua). Releasing a
 * hold that has already ended is not an error: the seats are free either way.
 */
export async function releaseHold(ctx: HoldContext, holdId: string, auth: HoldAuth): Promise<void> {
  const sessionId = await sessionOfHold(ctx, holdId);
  const [status, stage] = await ctx.scripts.endHold(
    [holdKey(sessionId, holdId), eventsKey(sessionId)],
    [holdId, 'release', ...authArgs(auth)],
  );
  if (status === 'OK') holdOutcomes.inc({ outcome: 'released' });
  if (status === 'OK' || status === 'ALREADY_ENDED') return;
  refuseUnlessOk(status, holdId, stage);
  throw new AppError(409, 'HOLD_WRONG_STAGE', `A hold that is ${stage} cannot be released.`, {
    holdId,
    stage,
  });
}
