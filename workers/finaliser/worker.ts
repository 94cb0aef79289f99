import { EventConsumer } from '../../shared/consumer';
import { openWorkerConnections } from '../connections';
import type { WorkerKind } from '../runtime';
import { finaliseBatch, parsePaymentApproved } from './finalise-batch';

export const FINALISER_QUEUE = 'finaliser.payment-approved';

/** RabbitMQ consumer of payment.approved: writes the sales into Postgres, in batches. */
export const finaliserWorker: WorkerKind = {
  name: 'finaliser',
  async start({ config, logger }) {
    const connections = await openWorkerConnections(config, logger);
    const consumer = new EventConsumer(connections.rabbit, logger, {
      queue: FINALISER_QUEUE,
      bindings: ['payment.approved'],
      batchSize: 50,
      maxAttempts: 8,
      retryBaseMs: 250,
      parse: parsePaymentApproved,
      handle: finaliseBatch(connections.orm, connections.ctx, logger),
    });
    await consumer.start();
    return {
      healthChecks: connections.healthChecks,
      stop: async () => {
        await consumer.stop();
        await connections.close();
      },
    };
  },
};
