import type { Orm } from '../../shared/db/orm';
import type { EventEnvelope, EventType } from '../../shared/events';
import type { Logger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/rabbitmq';
import { RelayLoop } from './relay-loop';

const BATCH = 200;
const IDLE_POLL_MS = 100;

interface OutboxRow {
  id: string;
  type: EventType;
  payload: Record<string, unknown>;
  occurred_at: Date;
}

/**
 * Publishes the events Postgres transactions wrote to `outbox_events`, oldest first, and marks
 * them published in the same transaction that locked them. `for update skip locked` lets several
 * relay copies drain the outbox side by side without publishing a row twice; a crash before the
 * commit leaves the rows unpublished, to be published (again) later — consumers dedupe by id.
 */
export class OutboxRelay extends RelayLoop {
  constructor(
    private readonly orm: Orm,
    private readonly publisher: EventPublisher,
    logger: Logger,
  ) {
    super(logger, IDLE_POLL_MS, BATCH);
  }

  async relayOnce(): Promise<number> {
    const knex = this.orm.em.getConnection().getKnex();
    return knex.transaction(async (trx) => {
      const { rows } = await trx.raw<{ rows: OutboxRow[] }>(
        `select id, type, payload, occurred_at from outbox_events
         where published_at is null order by occurred_at limit ? for update skip locked`,
        [BATCH],
      );
      if (rows.length === 0) return 0;
      const events: EventEnvelope[] = rows.map((row) => ({
        id: row.id,
        type: row.type,
        occurredAt: new Date(row.occurred_at).toISOString(),
        data: row.payload,
      }));
      await this.publisher.publish(events);
      const ids = rows.map((r) => r.id);
      await trx('outbox_events').whereIn('id', ids).update({ published_at: trx.fn.now() });
      this.logger.debug('outbox events published', { count: rows.length });
      return rows.length;
    });
  }
}
