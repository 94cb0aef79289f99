import type { Redis } from 'ioredis';
import { seatKey, SOLD_PREFIX } from '../holds/keys';

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
 * Live statuses of seats, per session, in one round trip: one MGET per session (each within one
 * cluster slot thanks to the hash tag), pipelined together. Takes each session's seat keys.
 */
export async function readSeatStatuses(
  redis: Redis,
  keysPerSession: readonly (readonly string[])[],
): Promise<SeatStatus[][]> {
  const pipeline = redis.pipeline();
  for (const keys of keysPerSession) pipeline.mget(...keys);
  const replies = keysPerSession.length > 0 ? ((await pipeline.exec()) ?? []) : [];
  return replies.map(([err, values]) => {
    if (err) throw err;
    return (values as (string | null)[]).map(statusOf);
  });
}
