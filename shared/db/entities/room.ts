import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './columns';

export const Room = defineEntity({
  name: 'Room',
  tableName: 'rooms',
  properties: {
    id: uuidPrimaryKey(),
    name: p.string().length(100).unique('rooms_name_unique'),
    rows: p.integer(),
    seatsPerRow: p.integer(),
    createdAt: createdAt(),
  },
});
export type Room = InferEntity<typeof Room>;
