import { seatKey, SOLD_PREFIX } from '../holds/keys';
import type { RedisClient } from '../redis';

export type SeatStatus = 'available' | 'held' | 'sold';

/**
 * A seat's live state is its Redis key (shared/holds/keys.ts): missing → available, the hold id
 * (with a real TTL, so an expired hold frees the seat by itself) → held, `sold:…` → sold.
 */
export function statusOf(value: string | null): SeatStatus {
  if (value === null) return 'available';
  return value.startsWith(SOLD_PREFIX) ? 'sold' : 'held';
}

/** The Redis keys of a session's seats, in the order given. */
export const seatKeysOf = (sessionId: string, seatIds: readonly string[]) =>
  seatIds.map((id) => seatKey(sessionId, id));

/**
 * Live statuses of seats, per session: one MGET per session (each within one cluster slot thanks
 * to the hash tag), sent together. The API's client auto-pipelines them into one round trip (per
 * master, on a cluster, where one pipeline may not span masters). Takes each session's seat keys.
 */
export async function readSeatStatuses(
  redis: RedisClient,
  keysPerSession: readonly (readonly string[])[],
): Promise<SeatStatus[][]> {
  const replies = await Promise.all(keysPerSession.map((keys) => redis.mget(...keys)));
  return replies.map((values) => values.map(statusOf));
}
