import { nameBasedUuid } from './ids';

/** RabbitMQ topic exchange every domain event is published to (§5), routed by its type. */
export const EVENTS_EXCHANGE = 'cine.events';

export const EVENT_TYPES = [
  'hold.created',
  'hold.confirmed',
  'hold.expired',
  'hold.released',
  'seat.released',
  'payment.approved',
  'payment.declined',
  'order.completed',
  'order.failed',
  'order.refunded',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The body of every message on `cine.events`. `id` is unique per occurrence: dedupe on it. */
export interface EventEnvelope<Data = Record<string, unknown>> {
  id: string;
  type: EventType;
  occurredAt: string;
  data: Data;
}

/** An event's id, derived from where it was recorded, so an event relayed twice after a crash
 * carries the same id both times. */
export const eventIdFor = (source: string): string => nameBasedUuid(source);

/** An event as the hold scripts record it in a session's Redis stream. */
export function envelopeFromStreamEntry(
  streamKey: string,
  entryId: string,
  fields: Record<string, string>,
): EventEnvelope {
  return {
    id: eventIdFor(`${streamKey}/${entryId}`),
    type: fields.type as EventType,
    occurredAt: new Date(Number(fields.occurredAt)).toISOString(),
    data: JSON.parse(fields.data ?? '{}') as Record<string, unknown>,
  };
}
