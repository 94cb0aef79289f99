import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, timestamp } from './columns';
import { Session } from './session';
import { User } from './user';

export const ORDER_STATUSES = ['processing', 'paid', 'declined', 'refunded', 'failed'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * One purchase attempt of one hold. The id is chosen when the payment is requested (in Redis),
 * so the finaliser's insert is idempotent by primary key.
 */
export const Order = defineEntity({
  name: 'Order',
  tableName: 'orders',
  properties: {
    id: p.uuid().primary(),
    user: () => p.manyToOne(User),
    session: () => p.manyToOne(Session),
    holdId: p.uuid(),
    status: p.enum([...ORDER_STATUSES]).columnType('text'),
    totalCents: p.integer(),
    currency: p.string().length(3),
    method: p.string().length(32),
    cardLast4: p.string().length(4).nullable(),
    createdAt: createdAt(),
    paidAt: timestamp().nullable(),
    refundedAt: timestamp().nullable(),
  },
  indexes: [{ name: 'orders_user_created_index', properties: ['user', 'createdAt'] }],
});
export type Order = InferEntity<typeof Order>;
