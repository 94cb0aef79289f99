import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './columns';
import { Order } from './order';
import { SessionSeat } from './session-seat';

export const TICKET_STATUSES = ['active', 'refunded'] as const;

/**
 * A sold seat. The partial unique index is the last line of defence against selling a seat
 * twice: whatever Redis says, Postgres refuses a second *active* ticket for one session seat,
 * while a refunded ticket leaves the seat free to be sold again.
 */
export const Ticket = defineEntity({
  name: 'Ticket',
  tableName: 'tickets',
  properties: {
    id: uuidPrimaryKey(),
    order: () => p.manyToOne(Order).index('tickets_order_id_index'),
    seat: () => p.manyToOne(SessionSeat),
    status: p
      .enum([...TICKET_STATUSES])
      .columnType('text')
      .default('active'),
    priceCents: p.integer(),
    createdAt: createdAt(),
  },
  uniques: [
    {
      name: 'tickets_active_seat_unique',
      expression:
        'create unique index "tickets_active_seat_unique" on "tickets" ("seat_id") where "status" = \'active\'',
    },
  ],
});
export type Ticket = InferEntity<typeof Ticket>;
