import type { Redis } from 'ioredis';

export type SeatStatus = 'available' | 'held' | 'sold';

/**
 * Where a seat's live state is kept: one Redis key per seat of a session, carrying the session's
 * hash tag so every key a hold touches lives in one Redis Cluster slot. The key holds the hold id
 * while held (with a real TTL, so an expired hold frees the seat by itself) and `sold:<orderId>`
 * once sold (no TTL). A missing key is an available seat.
 */
export const seatKey = (sessionId: string, seatId: string) => `seat:{${sessionId}}:${seatId}`;
export const SOLD_PREFIX = 'sold:';

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
