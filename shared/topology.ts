import type { Channel } from 'amqplib';
import { EVENTS_EXCHANGE, type EventType } from './events';

/**
 * The RabbitMQ topology, declared in one place and by every connection (publishers and consumers
 * alike, at connect and after every reconnect): the `cine.events` exchange and the durable queues
 * of the consumers that must receive some event, with their bindings. A publisher that starts
 * before any consumer ever ran has therefore already created the queues its messages are meant
 * for, so a `payment.approved` published on a fresh broker waits in the finaliser's queue instead
 * of being routed nowhere. Declaring is idempotent; the arguments below must never change for an
 * existing queue (RabbitMQ refuses a redeclaration with other arguments), so a change here is a
 * migration: a new queue name.
 */
export interface ConsumerQueue {
  /** Durable quorum queue; `<queue>.retry` and `<queue>.dlq` are declared beside it. */
  name: string;
  /** Routing keys on `cine.events` this queue receives. */
  bindings: readonly EventType[];
}

export const CONSUMER_QUEUES = {
  finaliser: { name: 'finaliser.payment-approved', bindings: ['payment.approved'] },
  notifier: { name: 'notifier.order-completed', bindings: ['order.completed'] },
} as const satisfies Record<string, ConsumerQueue>;

export const retryQueue = (queue: string) => `${queue}.retry`;
export const deadLetterQueue = (queue: string) => `${queue}.dlq`;

/**
 * Whether the system itself depends on a consumer receiving events of this type. Those are
 * published `mandatory`: if the broker cannot route one (its queue was deleted under us), it comes
 * back and counts as not published. The other types (hold.*, seat.released, …) are notifications
 * for whoever subscribes; no subscriber is not an error for them.
 */
export const mustBeRouted = (type: EventType): boolean =>
  Object.values(CONSUMER_QUEUES).some((q) => (q.bindings as readonly EventType[]).includes(type));

export async function declareTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  for (const { name, bindings } of Object.values(CONSUMER_QUEUES)) {
    await channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    // Messages wait here for their backoff (per-message TTL), then dead-letter back to the queue.
    await channel.assertQueue(retryQueue(name), {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': name },
    });
    await channel.assertQueue(deadLetterQueue(name), { durable: true });
    for (const key of bindings) await channel.bindQueue(name, EVENTS_EXCHANGE, key);
  }
}
