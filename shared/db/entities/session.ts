import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, timestamp, uuidPrimaryKey } from './columns';
import { Movie } from './movie';
import { Room } from './room';

/** A screening: one movie in one room at one time, sold at one price. */
export const Session = defineEntity({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: uuidPrimaryKey(),
    movie: () => p.manyToOne(Movie).index('sessions_movie_id_index'),
    room: () => p.manyToOne(Room),
    startsAt: timestamp().index('sessions_starts_at_index'),
    priceCents: p.integer(),
    currency: p.string().length(3).default('BRL'),
    createdAt: createdAt(),
  },
});
export type Session = InferEntity<typeof Session>;
