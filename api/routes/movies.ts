import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { RouteSpec } from '../http/route';
import { text, uuid } from '../http/schemas';

const movieView = Joi.object({
  id: uuid(),
  title: Joi.string(),
  durationMinutes: Joi.number().integer(),
  rating: Joi.string().allow(null),
  synopsis: Joi.string().allow(null),
}).label('Movie');

const createMovieBody = Joi.object({
  title: text(200).required(),
  durationMinutes: Joi.number().integer().min(1).max(1000).required(),
  rating: text(10),
  synopsis: text(5000, { multiline: true }),
});

export function movieRoutes({ catalogue }: { catalogue: Catalogue }): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/movies',
      tag: 'Catalogue',
      summary: 'List movies',
      responses: { 200: { description: 'Every movie', schema: Joi.array().items(movieView) } },
      handler: async () => ({ status: 200, body: await catalogue.listMovies() }),
    },
    {
      method: 'post',
      path: '/api/v1/movies',
      tag: 'Catalogue',
      summary: 'Add a movie (admin)',
      auth: 'admin',
      body: createMovieBody,
      responses: { 201: { description: 'The new movie', schema: movieView } },
      handler: async ({ body }) => ({ status: 201, body: await catalogue.createMovie(body) }),
    },
  ];
}
