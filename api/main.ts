import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Directory } from '../shared/catalogue/directory';
import { loadConfigOrExit } from '../shared/config';
import { initOrm } from '../shared/db/orm';
import { createLogger } from '../shared/logger';
import { createCheckoutQueues } from '../shared/queues';
import { createRedis } from '../shared/redis';
import { HOLD_SCRIPT_COMMANDS } from '../shared/holds/scripts';
import { stopGracefullyOnSignals } from '../shared/shutdown';
import { createApp } from './app';
import { OrderSettlements } from './live/order-settlements';
import { SeatMapFeed } from './live/seat-map-feed';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, service: 'api' });
  const orm = await initOrm(config, logger);
  // Request paths fail fast when Redis is away instead of queueing commands forever; under a
  // burst, auto-pipelining sends the commands of concurrent requests in shared writes.
  const redis = createRedis(config, {
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    scriptCommands: HOLD_SCRIPT_COMMANDS,
  });
  const queues = createCheckoutQueues(config);
  const directory = new Directory(orm);
  await directory.warmUp();
  const seatMapFeed = new SeatMapFeed(redis, logger, { batchMs: config.liveMap.batchMs });
  const orderSettlements = new OrderSettlements(redis, logger);
  const server = createServer(
    createApp({ config, logger, orm, redis, queues, directory, seatMapFeed, orderSettlements }),
  );
  // Longer than a typical load balancer's idle timeout, so it never reuses a socket we closed.
  server.keepAliveTimeout = 65_000;
  server.listen(config.port, () => {
    logger.info('api listening', { port: (server.address() as AddressInfo).port });
  });

  stopGracefullyOnSignals(logger, async () => {
    // Stop accepting, end the live seat maps (their clients reconnect elsewhere with
    // Last-Event-ID), answer the order reads waiting for a settlement with the order as it is,
    // let in-flight requests finish, then close what they used.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await Promise.all([seatMapFeed.close(), orderSettlements.close()]);
    await closed;
    await queues.close();
    await Promise.all([orm.close(), redis.quit()]);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
