import type { RecoveringChannelModel } from 'amqplib';
import type { Config } from '../shared/config';
import { EventConsumer, type ConsumerOptions } from '../shared/consumer';
import { initOrm, type Orm } from '../shared/db/orm';
import type { HealthCheck } from '../shared/health';
import { createHoldContext, type HoldContext } from '../shared/holds/hold-context';
import type { Logger } from '../shared/logger';
import { createCheckoutQueues } from '../shared/queues';
import { connectRabbit } from '../shared/rabbitmq';
import { HOLD_SCRIPT_COMMANDS } from '../shared/holds/scripts';
import { createRedis, type RedisClient } from '../shared/redis';
import type { WorkerKind } from './runtime';

export interface WorkerConnections {
  redis: RedisClient;
  ctx: HoldContext;
  orm: Orm;
  rabbit: RecoveringChannelModel;
  healthChecks: HealthCheck[];
  close(): Promise<void>;
}

/**
 * What the payment-side workers connect to: Redis (and the hold scripts and queues on it),
 * Postgres and RabbitMQ, with a readiness check for each and one `close` for all.
 */
export async function openWorkerConnections(
  config: Config,
  logger: Logger,
): Promise<WorkerConnections> {
  // A batch's commands (an approval check or a settlement per sale) leave in one write, not one
  // each: the socket writes were the largest single cost of the finaliser.
  const redis = createRedis(config, {
    enableAutoPipelining: true,
    scriptCommands: HOLD_SCRIPT_COMMANDS,
  });
  const queues = createCheckoutQueues(config);
  const orm = await initOrm(config, logger);
  const rabbit = await connectRabbit(config.rabbitmqUrl, logger);
  return {
    redis,
    ctx: createHoldContext(redis, config.holds, queues),
    orm,
    rabbit,
    healthChecks: [
      { name: 'redis', check: () => redis.ping() },
      { name: 'postgres', check: () => orm.em.getConnection().execute('select 1') },
      { name: 'rabbitmq', check: () => rabbit.createChannel().then((channel) => channel.close()) },
    ],
    close: async () => {
      await Promise.all([queues.close(), rabbit.close(), orm.close()]);
      await redis.quit();
    },
  };
}

/**
 * A worker kind that is one RabbitMQ consumer (shared/consumer.ts) over the usual connections:
 * the finaliser and the notifier differ only in what they consume and how they handle it.
 */
export function consumerWorker<T>(
  name: string,
  consumerOptions: (connections: WorkerConnections, logger: Logger) => ConsumerOptions<T>,
): WorkerKind {
  return {
    name,
    async start({ config, logger }) {
      const connections = await openWorkerConnections(config, logger);
      const consumer = new EventConsumer(
        connections.rabbit,
        logger,
        consumerOptions(connections, logger),
      );
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
