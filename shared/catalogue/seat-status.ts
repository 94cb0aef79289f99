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

export interface SessionSeats {
  sessionId: string;
  seatIds: readonly string[];
}

/**
 * Live statuses of the given seats, per session, in one round trip: one MGET per session (each
 * within one cluster slot thanks to the hash tag), pipelined together.
 */
export async function readSeatStatuses(
  redis: Redis,
  sessions: readonly SessionSeats[],
): Promise<SeatStatus[][]> {
  const pipeline = redis.pipeline();
  for (const { sessionId, seatIds } of sessions) {
    pipeline.mget(seatIds.map((id) => seatKey(sessionId, id)));
  }
  const replies = sessions.length > 0 ? ((await pipeline.exec()) ?? []) : [];
  return replies.map(([err, values]) => {
    if (err) throw err;
    return (values as (string | null)[]).map(statusOf);
  });
}
