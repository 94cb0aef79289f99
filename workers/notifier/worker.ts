import Joi from 'joi';
import { Catalogue } from '../../shared/catalogue/catalogue';
import type { EventEnvelope } from '../../shared/events';
import type { OrderCompleted } from '../../shared/orders/contracts';
import { writeReceipts } from '../../shared/orders/write-receipt';
import { CONSUMER_QUEUES } from '../../shared/topology';
import { consumerWorker } from '../connections';
import type { WorkerKind } from '../runtime';

const orderCompletedSchema = Joi.object<OrderCompleted>({
  orderId: Joi.string().guid().required(),
  userId: Joi.string().guid().required(),
  sessionId: Joi.string().guid().required(),
  seatIds: Joi.array().items(Joi.string().guid()).min(1).required(),
  totalCents: Joi.number().integer().required(),
  currency: Joi.string().required(),
  paidAt: Joi.string().isoDate().required(),
});

function parseOrderCompleted(envelope: EventEnvelope): OrderCompleted {
  const { value, error } = orderCompletedSchema.validate(envelope.data);
  if (error) throw new Error(`invalid order.completed: ${error.message}`);
  return value;
}

/** RabbitMQ consumer of order.completed: stores the buyers' receipts, in batches. */
export const notifierWorker: WorkerKind = consumerWorker<OrderCompleted>(
  'notifier',
  (connections) => {
    // Sessions and their seats never change: each is read from Postgres once per process.
    const layouts = new Catalogue(connections.orm, connections.redis, 0);
    return {
      queue: CONSUMER_QUEUES.notifier,
      batchSize: 50,
      maxAttempts: 8,
      retryBaseMs: 250,
      parse: parseOrderCompleted,
      handle: async (batch) => {
        await writeReceipts(
          connections.orm,
          layouts,
          batch.map(({ envelope, body }) => ({ eventId: envelope.id, sale: body })),
        );
      },
    };
  },
);
