import type { ConsumerOptions } from '../../shared/consumer';
import { CONSUMER_QUEUES } from '../../shared/topology';
import { consumerWorker } from '../connections';
import type { WorkerKind } from '../runtime';
import { finaliseBatch, parsePaymentApproved } from './finalise-batch';

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
  return consumerWorker('finaliser', (connections, logger) => ({
    ...FINALISER_DEFAULTS,
    ...options,
    queue: CONSUMER_QUEUES.finaliser,
    parse: parsePaymentApproved,
    handle: finaliseBatch(connections.orm, connections.ctx, logger),
  }));
}

export const finaliserWorker: WorkerKind = createFinaliserWorker();
