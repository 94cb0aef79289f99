import { createHash } from 'node:crypto';

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

/**
 * A UUID derived from where the event was recorded (name-based, RFC 4122 version 5 layout), so
 * an event relayed twice after a crash carries the same id both times.
 */
export function eventIdFor(source: string): string {
  const hash = createHash('sha1').update(source).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

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
