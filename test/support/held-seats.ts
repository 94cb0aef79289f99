import { scanKeys } from './cinema';
import type { RedisClient } from '../../shared/redis';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What Redis says is held in a session: seat → hold id (seat keys whose value is a hold id),
 * and hold id → its record. Fails if a held seat points to a hold whose record does not list it,
 * or a live hold lists a seat that does not point back to it.
 */
export async function heldInRedis(redis: RedisClient, sessionId: string) {
  const prefix = `seat:{${sessionId}}:`;
  const seatKeys = await scanKeys(redis, `${prefix}*`);
  const owners = seatKeys.length > 0 ? await redis.mget(seatKeys) : [];
  const seatToHold = new Map<string, string>();
  seatKeys.forEach((key, i) => {
    const owner = owners[i];
    if (owner && UUID.test(owner)) seatToHold.set(key.slice(prefix.length), owner);
  });

  const holdPrefix = `hold:{${sessionId}}:`;
  const holds = new Map<string, Record<string, string>>();
  for (const key of await scanKeys(redis, `${holdPrefix}*`)) {
    holds.set(key.slice(holdPrefix.length), await redis.hgetall(key));
  }

  for (const [seatId, holdId] of seatToHold) {
    const record = holds.get(holdId);
    expect({ seatId, holdId, listed: record?.seatIds?.split(',').includes(seatId) }).toEqual({
      seatId,
      holdId,
      listed: true,
    });
  }
  for (const [holdId, record] of holds) {
    if (record.stage !== 'held' && record.stage !== 'confirmed') continue;
    for (const seatId of (record.seatIds ?? '').split(',')) {
      expect({ holdId, seatId, owner: seatToHold.get(seatId) }).toEqual({
        holdId,
        seatId,
        owner: holdId,
      });
    }
  }
  return { seatToHold, holds };
}

/** Removes every hold of a session from Redis (seats, records, users' sets, best available's
 * occupancy): nothing is held. */
export async function clearHolds(redis: RedisClient, sessionId: string) {
  const keys = [
    ...(await scanKeys(redis, `seat:{${sessionId}}:*`)),
    ...(await scanKeys(redis, `hold:{${sessionId}}:*`)),
    ...(await scanKeys(redis, `user-seats:{${sessionId}}:*`)),
  ];
  // Best available's occupancy goes too: it is rebuilt from the (now free) seat keys; and the
  // seat-map version, so no API process serves a seat map cached before.
  await redis.del(...keys, `seats-taken:{${sessionId}}`, `seatmap-version:{${sessionId}}`);
}
