import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt } from './columns';
import { Order } from './order';

/** What the buyer is sent after a sale: a snapshot, so later catalogue edits do not rewrite it. */
export const Receipt = defineEntity({
  name: 'Receipt',
  tableName: 'receipts',
  properties: {
    order: () => p.oneToOne(Order).primary(),
    body: p.json<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
});
export type Receipt = InferEntity<typeof Receipt>;
