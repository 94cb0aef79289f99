import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, uuidPrimaryKey } from './columns';

export const Movie = defineEntity({
  name: 'Movie',
  tableName: 'movies',
  properties: {
    id: uuidPrimaryKey(),
    title: p.string().length(200),
    durationMinutes: p.integer(),
    rating: p.string().length(10).nullable(),
    synopsis: p.text().nullable(),
    createdAt: createdAt(),
  },
});
export type Movie = InferEntity<typeof Movie>;
