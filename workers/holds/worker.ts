import { Worker } from 'bullmq';
import { createHoldContext } from '../../shared/holds/hold-context';
import { bullConnection, createCheckoutQueues, QUEUES } from '../../shared/queues';
import { createRedis } from '../../shared/redis';
import type { WorkerKind } from '../runtime';
import { confirmationProcessor } from './confirmation-processor';
import { expiryProcessor } from './expiry-processor';

/**
 * BullMQ workers for the hold lifecycle: expiry cleanups and confirmations. Any number of copies
 * may run: BullMQ hands each job to one of them, and the scripts behind the processors make a
 * repeated job harmless.
 */
export const holdsWorker: WorkerKind = {
  name: 'holds',
  async start({ config, logger }) {
    const redis = createRedis(config);
    const queues = createCheckoutQueues(config);
    const ctx = createHoldContext(redis, config.holds, queues);
    const connection = bullConnection(config);
    const workers = [
      new Worker(QUEUES.holdExpiry, expiryProcessor(ctx, logger), { connection, concurrency: 50 }),
      new Worker(QUEUES.holdConfirmation, confirmationProcessor(ctx, logger), {
        connection,
        concurrency: 50,
      }),
    ];
    for (const worker of workers) {
      worker.on('failed', (job, err) =>
        logger.error('job failed', { queue: worker.name, jobId: job?.id, err: err.message }),
      );
      worker.on('error', (err) =>
        logger.error('worker error', { queue: worker.name, err: err.message }),
      );
    }
    return {
      healthChecks: [{ name: 'redis', check: () => redis.ping() }],
      stop: async () => {
        // close() waits for the jobs in progress to finish before it resolves.
        await Promise.all(workers.map((w) => w.close()));
        await queues.close();
        await redis.quit();
      },
    };
  },
};
