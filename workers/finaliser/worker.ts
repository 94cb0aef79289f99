import { EventConsumer, type ConsumerOptions } from '../../shared/consumer';
import { openWorkerConnections } from '../connections';
import type { WorkerKind } from '../runtime';
import { finaliseBatch, parsePaymentApproved } from './finalise-batch';

export const FINALISER_QUEUE = 'finaliser.payment-approved';

/** The consumer settings a deployment (or a test) may tune; the rest is fixed by the worker. */
export type FinaliserOptions = Partial<
  Pick<ConsumerOptions<unknown>, 'batchSize' | 'maxAttempts' | 'retryBaseMs'>
>;

export const FINALISER_DEFAULTS: Required<FinaliserOptions> = {
  batchSize: 50,
  maxAttempts: 8,
  retryBaseMs: 250,
};

/** RabbitMQ consumer of payment.approved: writes the sales into Postgres, in batches. */
export function createFinaliserWorker(options: FinaliserOptions = {}): WorkerKind {
  return {
    name: 'finaliser',
    async start({ config, logger }) {
      const connections = await openWorkerConnections(config, logger);
      const consumer = new EventConsumer(connections.rabbit, logger, {
        ...FINALISER_DEFAULTS,
        ...options,
        queue: FINALISER_QUEUE,
        bindings: ['payment.approved'],
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
}

export const finaliserWorker: WorkerKind = createFinaliserWorker();
