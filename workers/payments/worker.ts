import { QUEUES } from '../../shared/queues';
import { EventPublisher } from '../../shared/rabbitmq';
import { startBullWorker } from '../bullmq';
import { openWorkerConnections } from '../connections';
import type { WorkerKind } from '../runtime';
import { paymentProcessor } from './payment-processor';

/** The BullMQ payment worker: charges through the method's strategy, publishes the outcome. */
export const paymentsWorker: WorkerKind = {
  name: 'payments',
  async start({ config, logger }) {
    const connections = await openWorkerConnections(config, logger);
    const { ctx, orm, rabbit } = connections;
    const publisher = new EventPublisher(rabbit, logger);
    const worker = startBullWorker(
      config,
      logger,
      QUEUES.payments,
      paymentProcessor({ ctx, orm, publish: (events) => publisher.publish(events) }, logger),
    );
    return {
      healthChecks: connections.healthChecks,
      stop: async () => {
        await worker.close();
        await connections.close();
      },
    };
  },
};
