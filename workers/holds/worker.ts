import { initOrm } from '../../shared/db/orm';
import { createHoldContext } from '../../shared/holds/hold-context';
import { watchQueueDepths } from '../../shared/metrics';
import { restoreSoldSeats } from '../../shared/orders/restore-sold-seats';
import { createCheckoutQueues, QUEUES } from '../../shared/queues';
import { sweepOverdueHolds } from '../../shared/holds/sweep-overdue-holds';
import { createRedis } from '../../shared/redis';
import { startBullWorker } from '../bullmq';
import type { WorkerKind } from '../runtime';
import { confirmationProcessor } from './confirmation-processor';
import { expiryProcessor } from './expiry-processor';

/** How often the safety-net sweep for holds without a cleanup job runs. */
const SWEEP_EVERY_MS = 5_000;

/**
 * BullMQ workers for the hold lifecycle: expiry cleanups and confirmations. Any number of copies
 * may run: BullMQ hands each job to one of them, and the scripts behind the processors make a
 * repeated job harmless. It also reports every checkout queue's depth, and at start tells
 * Redis which seats Postgres has sold (shared/orders/restore-sold-seats.ts).
 */
export const holdsWorker: WorkerKind = {
  name: 'holds',
  async start({ config, logger }) {
    const redis = createRedis(config);
    const queues = createCheckoutQueues(config);
    const ctx = createHoldContext(redis, config.holds, queues);
    // Before any hold is cleaned up: Redis learns (again) every seat Postgres has sold.
    const orm = await initOrm(config, logger);
    const restored = await restoreSoldSeats(orm, redis);
    await orm.close();
    logger.info('sold seats known to Redis', { seats: restored });
    const workers = [
      startBullWorker(config, logger, QUEUES.holdExpiry, expiryProcessor(ctx, logger)),
      startBullWorker(config, logger, QUEUES.holdConfirmation, confirmationProcessor(ctx, logger)),
      startBullWorker(config, logger, QUEUES.holdSweep, () => sweepOverdueHolds(ctx), 1),
    ];
    // One schedule however many copies run: upserting it again is a no-op.
    await queues.sweep.upsertJobScheduler(
      'sweep-overdue-holds',
      { every: SWEEP_EVERY_MS },
      { name: 'sweep' },
    );
    const stopWatching = watchQueueDepths(queues.all());
    return {
      healthChecks: [{ name: 'redis', check: () => redis.ping() }],
      stop: async () => {
        stopWatching();
        // close() waits for the jobs in progress to finish before it resolves.
        await Promise.all(workers.map((w) => w.close()));
        await queues.close();
        await redis.quit();
      },
    };
  },
};
