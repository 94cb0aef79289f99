import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { RouteSpec } from '../http/route';
import { calendarDate, errorResponse, idParam, isoInstant, uuid } from '../http/schemas';

/** When a session may start: years 2000 to 9999, what a box office can mean. */
const SESSION_YEARS = { min: '2000-01-01T00:00:00.000Z', max: '9999-12-31T23:59:59.999Z' };

const sessionSummaryFields = {
  id: uuid(),
  movie: Joi.object({ id: uuid(), title: Joi.string() }),
  room: Joi.object({ id: uuid(), name: Joi.string() }),
  startsAt: Joi.string().isoDate(),
  priceCents: Joi.number().integer(),
  currency: Joi.string().valid('BRL'),
  seatsTotal: Joi.number().integer(),
  seatsAvailable: Joi.number().integer(),
};
const sessionSummary = Joi.object(sessionSummaryFields).label('SessionSummary');

export const seatMapView = Joi.object({
  ...sessionSummaryFields,
  seats: Joi.array().items(
    Joi.object({
      id: uuid(),
      label: Joi.string(),
      row: Joi.string(),
      number: Joi.number().integer(),
      status: Joi.string().valid('available', 'held', 'sold'),
    }).label('Seat'),
  ),
}).label('SeatMap');

const createSessionBody = Joi.object({
  movieId: uuid().required(),
  roomId: uuid().required(),
  startsAt: isoInstant(SESSION_YEARS).required(),
  priceCents: Joi.number().integer().min(0).max(10_000_000).required(),
});

export function sessionRoutes({ catalogue }: { catalogue: Catalogue }): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/sessions',
      tag: 'Catalogue',
      summary: 'List sessions, optionally of one movie or one day (UTC)',
      query: Joi.object({
        movieId: uuid(),
        date: calendarDate({ min: '2000-01-01', max: '9999-12-31' }),
      }),
      responses: {
        200: { description: 'Sessions by start time', schema: Joi.array().items(sessionSummary) },
      },
      handler: async ({ query }) => ({ status: 200, body: await catalogue.listSessions(query) }),
    },
    {
      method: 'post',
      path: '/api/v1/sessions',
      tag: 'Catalogue',
      summary: 'Add a session and its seats (admin)',
      auth: 'admin',
      body: createSessionBody,
      responses: {
        201: { description: 'The new session', schema: sessionSummary },
        404: errorResponse('MOVIE_NOT_FOUND or ROOM_NOT_FOUND'),
      },
      handler: async ({ body }) => ({ status: 201, body: await catalogue.createSession(body) }),
    },
    {
      method: 'get',
      path: '/api/v1/sessions/:id',
      tag: 'Catalogue',
      summary: 'A session with its live seat map',
      params: idParam(),
      responses: {
        200: { description: 'The session and every seat with its status', schema: seatMapView },
        404: errorResponse('SESSION_NOT_FOUND'),
      },
      handler: async ({ params }) => ({ status: 200, body: await catalogue.seatMap(params.id) }),
    },
  ];
}
