import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt } from './columns';

/**
 * The consumers' inbox: a message id recorded in the same transaction as its effects, so a
 * redelivered message is recognised and changes nothing.
 */
export const ProcessedMessage = defineEntity({
  name: 'ProcessedMessage',
  tableName: 'processed_messages',
  properties: {
    consumer: p.string().length(64).primary(),
    messageId: p.string().length(64).primary(),
    processedAt: createdAt(),
  },
  primaryKeys: ['consumer', 'messageId'],
});
export type ProcessedMessage = InferEntity<typeof ProcessedMessage>;
