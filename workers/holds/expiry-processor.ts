import { DelayedError, type Job, type Processor } from 'bullmq';
import { expireHold } from '../../shared/holds/expire-hold';
import type { HoldContext } from '../../shared/holds/hold-context';
import { runWithLogContext, type Logger } from '../../shared/logger';
import type { HoldExpiryJob } from '../../shared/queues';

/**
 * The 30 s / 10 min cleanup. A job that fires before its hold's clock has run out (the API's
 * clock and Redis's differ a little) is put back to wait for the rest of the time.
 */
export function expiryProcessor(ctx: HoldContext, logger: Logger): Processor<HoldExpiryJob> {
  return (job: Job<HoldExpiryJob>, token?: string) =>
    runWithLogContext({ jobId: job.id ?? '', queue: job.queueName }, async () => {
      const result = await expireHold(ctx, job.data);
      if (result.outcome === 'not-due') {
        await job.moveToDelayed(result.expiresAt, token);
        throw new DelayedError();
      }
      logger.info('hold cleanup', { holdId: job.data.holdId, stage: job.data.stage, ...result });
      return result;
    });
}
