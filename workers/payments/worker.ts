import { reconcilePayments } from '../../shared/payments/reconcile-payments';
import { QUEUES } from '../../shared/queues';
import { EventPublisher } from '../../shared/rabbitmq';
import { startBullWorker } from '../bullmq';
import { openWorkerConnections } from '../connections';
import type { WorkerKind } from '../runtime';
import { paymentProcessor } from './payment-processor';

/**
 * The BullMQ payment worker: charges through the method's strategy, publishes the outcome. It
 * also runs the payment reconciler on a job scheduler (one schedule however many copies run),
 * which drives on any payment that stalled.
 */
export const paymentsWorker: WorkerKind = {
  name: 'payments',
  async start({ config, logger }) {
    const connections = await openWorkerConnections(config, logger);
    const { ctx, orm, rabbit } = connections;
    const publisher = new EventPublisher(rabbit, logger);
    const deps = { ctx, orm, publish: publisher.publish.bind(publisher) };
    const { stuckAfterMs, everyMs } = config.paymentReconciler;
    const workers = [
      startBullWorker(config, logger, QUEUES.payments, paymentProcessor(deps, logger)),
      startBullWorker(
        config,
        logger,
        QUEUES.paymentReconcile,
        async () => {
          const report = await reconcilePayments(deps, stuckAfterMs);
          if (report.found > 0) logger.warn('stalled payments driven on', { ...report });
          return report;
        },
        1,
      ),
    ];
    await ctx.queues.reconcile.upsertJobScheduler(
      'reconcile-payments',
      { every: everyMs },
      { name: 'reconcile' },
    );
    return {
      healthChecks: connections.healthChecks,
      stop: async () => {
        await Promise.all(workers.map((w) => w.close()));
        await connections.close();
      },
    };
  },
};
