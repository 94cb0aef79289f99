import { EventPublisher, connectRabbit } from '../../shared/rabbitmq';
import { createRedis } from '../../shared/redis';
import type { WorkerKind } from '../runtime';
import { EventRelay } from './relay';

/** Relays the events recorded in Redis to the `cine.events` exchange (§5). */
export const eventRelayWorker: WorkerKind = {
  name: 'event-relay',
  async start({ config, logger }) {
    // A connection of its own: the relay blocks on XREADGROUP.
    const redis = createRedis(config);
    const rabbit = await connectRabbit(config.rabbitmqUrl, logger);
    const relay = new EventRelay(redis, new EventPublisher(rabbit, logger), logger);
    relay.start();
    return {
      healthChecks: [
        { name: 'redis', check: () => redis.ping() },
        { name: 'rabbitmq', check: () => rabbit.createChannel().then((channel) => channel.close()) },
      ],
      stop: async () => {
        await relay.stop();
        await rabbit.close();
        await redis.quit();
      },
    };
  },
};
