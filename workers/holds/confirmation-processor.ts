import type { Job, Processor } from 'bullmq';
import { moveCleanupToConfirmedExpiry } from '../../shared/holds/expire-hold';
import type { HoldContext } from '../../shared/holds/hold-context';
import { runWithLogContext, type Logger } from '../../shared/logger';
import type { HoldConfirmationJob } from '../../shared/queues';

/** After "confirm intent": the hold's cleanup moves from its 30 s job to the 10 min one. */
export function confirmationProcessor(
  ctx: HoldContext,
  logger: Logger,
): Processor<HoldConfirmationJob> {
  return (job: Job<HoldConfirmationJob>) =>
    runWithLogContext({ jobId: job.id ?? '', queue: job.queueName }, async () => {
      await moveCleanupToConfirmedExpiry(ctx, job.data);
      logger.info('hold cleanup moved to confirmed expiry', { holdId: job.data.holdId });
    });
}
