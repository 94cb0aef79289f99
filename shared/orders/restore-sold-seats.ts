import type { ChainableCommander } from 'ioredis';
import type { Orm } from '../db/orm';
import { seatKey, seatMapVersionKey, seatOccupancyKey, SOLD_PREFIX } from '../holds/keys';
import type { RedisClient } from '../redis';

/**
 * Makes Redis know every seat Postgres has sold, for sessions that have not ended. Redis is
 * where a hold learns a seat is sold; if Redis lost its data (a restart without persistence),
 * sold seats would look free until this runs — Postgres would still refuse the second sale and
 * refund it, but buyers would be let down for nothing. Idempotent; the holds worker runs it at
 * start. A seat held meanwhile is overwritten: it is sold, and its hold could never be paid.
 * Sessions whose seats it writes lose their best-available occupancy, which is rebuilt from
 * these keys when next needed, and their seat-map version, so no API process reuses a seat map
 * read before.
 */
export async function restoreSoldSeats(orm: Orm, redis: RedisClient): Promise<number> {
  const rows = await orm.em
    .getConnection()
    .execute<{ seat_id: string; session_id: string; order_id: string }[]>(
      `select t.seat_id, ss.session_id, t.order_id
     from tickets t
     join session_seats ss on ss.id = t.seat_id
     join sessions s on s.id = ss.session_id
     where t.status = 'active' and s.starts_at > now() - interval '1 day'`,
    );
  // One pipeline per session: its keys share a slot, which a pipeline needs on a cluster.
  const pipelines = new Map<string, ChainableCommander>();
  for (const row of rows) {
    const pipeline = pipelines.get(row.session_id) ?? redis.pipeline();
    pipelines.set(row.session_id, pipeline);
    pipeline.set(seatKey(row.session_id, row.seat_id), `${SOLD_PREFIX}${row.order_id}`);
  }
  // Best available's occupancy is rebuilt from the seat keys on its next use; without a version,
  // a seat map is read afresh until a hold script starts a new one.
  for (const [sessionId, pipeline] of pipelines)
    pipeline.del(seatOccupancyKey(sessionId), seatMapVersionKey(sessionId));
  await Promise.all([...pipelines.values()].map((pipeline) => pipeline.exec()));
  return rows.length;
}
