import type { EntityManager } from '@mikro-orm/postgresql';
import { ProcessedMessage } from './entities';

/**
 * The messages of a batch that `consumer` has not processed yet, each once (a message delivered
 * twice within one batch is new only once). The caller records them in the same transaction as
 * their effects, which is what makes a redelivery a no-op.
 */
export async function unprocessed<T extends { eventId: string }>(
  tx: EntityManager,
  consumer: string,
  messages: T[],
): Promise<T[]> {
  const seen = await tx.find(ProcessedMessage, {
    consumer,
    messageId: { $in: messages.map((m) => m.eventId) },
  });
  const done = new Set(seen.map((m) => m.messageId));
  const fresh: T[] = [];
  for (const message of messages) {
    if (done.has(message.eventId)) continue;
    done.add(message.eventId);
    fresh.push(message);
  }
  return fresh;
}
