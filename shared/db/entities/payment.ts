import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, timestamp, uuidPrimaryKey } from './columns';
import { Order } from './order';

export const PAYMENT_STATUSES = ['approved', 'declined', 'refunded'] as const;

/** What the gateway said. Card data is never stored: the last four digits at most. */
export const Payment = defineEntity({
  name: 'Payment',
  tableName: 'payments',
  properties: {
    id: uuidPrimaryKey(),
    order: () => p.manyToOne(Order).unique('payments_order_id_unique'),
    method: p.string().length(32),
    status: p.enum([...PAYMENT_STATUSES]).columnType('text'),
    amountCents: p.integer(),
    currency: p.string().length(3),
    cardLast4: p.string().length(4).nullable(),
    gatewayReference: p.string().length(100),
    createdAt: createdAt(),
    refundedAt: timestamp().nullable(),
  },
});
export type Payment = InferEntity<typeof Payment>;
