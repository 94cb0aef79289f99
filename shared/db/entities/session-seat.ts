import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { uuidPrimaryKey } from './columns';
import { Session } from './session';

/**
 * One sellable seat of one session. Seats are per session (not per room) so that a seat id alone
 * names the session, and so that the ticket's unique constraint can point at a single row.
 */
export const SessionSeat = defineEntity({
  name: 'SessionSeat',
  tableName: 'session_seats',
  properties: {
    id: uuidPrimaryKey(),
    session: () => p.manyToOne(Session).deleteRule('cascade'),
    row: p.string().length(3),
    number: p.integer(),
    label: p.string().length(8),
  },
  uniques: [{ name: 'session_seats_position_unique', properties: ['session', 'row', 'number'] }],
});
export type SessionSeat = InferEntity<typeof SessionSeat>;
