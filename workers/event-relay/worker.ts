import { EVENT_STREAMS_KEY } from '../../shared/holds/keys';
import { beforeScrape, outboxBacklog } from '../../shared/metrics';
import { EventPublisher } from '../../shared/rabbitmq';
import { openWorkerConnections } from '../connections';
import type { WorkerKind } from '../runtime';
import { OutboxRelay } from './outbox-relay';
import { EventRelay } from './relay';

/**
 * Relays recorded events to the `cine.events` exchange (§5): those the hold scripts append to
 * Redis streams, and those Postgres transactions write to the outbox.
 */
export const eventRelayWorker: WorkerKind = {
  name: 'event-relay',
  async start({ config, logger }) {
    const connections = await openWorkerConnections(config, logger);
    const publisher = new EventPublisher(connections.rabbit, logger);
    // The stream relay blocks on XREADGROUP: nothing else here uses this Redis connection.
    const relays = [
      new EventRelay(connections.redis, publisher, logger),
      new OutboxRelay(connections.orm, publisher, logger),
    ];
    for (const relay of relays) relay.start();
    const stopWatching = beforeScrape(async () => {
      const [row] = await connections.orm.em
        .getConnection()
        .execute<{ count: number }[]>(
          'select count(*)::int as count from outbox_events where published_at is null',
        );
      outboxBacklog.set({ source: 'postgres' }, row?.count ?? 0);
      const streams = await connections.ctx.redis.smembers(EVENT_STREAMS_KEY);
      const lengths = await Promise.all(
        streams.map((stream) => connections.ctx.redis.xlen(stream)),
      );
      outboxBacklog.set(
        { source: 'redis' },
        lengths.reduce((a, b) => a + b, 0),
      );
    });
    return {
      healthChecks: connections.healthChecks,
      stop: async () => {
        stopWatching();
        await Promise.all(relays.map((relay) => relay.stop()));
        await connections.close();
      },
    };
  },
};
