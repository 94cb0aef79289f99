import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, timestamp } from './columns';

/**
 * Events written in the same transaction as the state change they describe and published to
 * RabbitMQ afterwards by a relay, so a commit and its event can never drift apart.
 */
export const OutboxEvent = defineEntity({
  name: 'OutboxEvent',
  tableName: 'outbox_events',
  properties: {
    id: p.uuid().primary(),
    type: p.string().length(64),
    payload: p.json<Record<string, unknown>>(),
    occurredAt: createdAt(),
    publishedAt: timestamp().nullable(),
  },
  indexes: [
    {
      name: 'outbox_events_unpublished_index',
      expression:
        'create index "outbox_events_unpublished_index" on "outbox_events" ("occurred_at") where "published_at" is null',
    },
  ],
});
export type OutboxEvent = InferEntity<typeof OutboxEvent>;
