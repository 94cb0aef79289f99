import type { Redis } from 'ioredis';
import { asBuyer, type BenchData, type SeatDealer } from '../support/data';
import { PORTS } from '../support/environment';
import { postJson } from '../support/measure';

/**
 * 10 000 single-seat hold requests from 1 000 users on 100 seats, split over two API instances on
 * two ports against one Redis: exactly 100 may win, whatever instance they reached.
 */
export async function race(data: BenchData, dealer: SeatDealer, redis: Redis) {
  const { sessionId, seatIds } = dealer.freshSession();
  const seats = seatIds.slice(0, 100);
  let i = 0;
  const body = () =>
    asBuyer(data, data.users[i % data.users.length]!, { seatIds: [seats[i++ % 100]] });
  const started = performance.now();
  const results = await Promise.all(
    [PORTS.api, PORTS.api2].map((port) =>
      postJson(`http://127.0.0.1:${port}/api/v1/holds`, body, { amount: 5000, connections: 100 }),
    ),
  );
  const settleSeconds = (performance.now() - started) / 1000;
  const created = results.reduce((sum, r) => sum + (r.statusCodeStats?.['201']?.count ?? 0), 0);
  const conflicts = results.reduce((sum, r) => sum + (r.statusCodeStats?.['409']?.count ?? 0), 0);
  const heldInRedis = (await redis.mget(seats.map((s) => `seat:{${sessionId}}:${s}`))).filter(
    Boolean,
  ).length;
  const holdRecords = (await redis.keys(`hold:{${sessionId}}:*`)).length;
  return {
    requests: 10_000,
    created,
    conflicts,
    heldInRedis,
    holdRecords,
    exact:
      created === 100 &&
      heldInRedis === 100 &&
      holdRecords === 100 &&
      created + conflicts === 10_000,
    settleSeconds,
    requestsPerSecond: 10_000 / settleSeconds,
    p99: Math.max(...results.map((r) => r.latency.p99)),
  };
}
