import Joi from 'joi';
import type { Catalogue } from '../../shared/catalogue/catalogue';
import type { RouteSpec } from '../http/route';
import { calendarDate, errorResponse, idParam, isoInstant, uuid } from '../http/schemas';

/**
 * The days a session may start on: 2000 to the second-last day of 9999. A day's list asks for
 * sessions before the next midnight, and a year past 9999 is written `+010000`, which PostgreSQL
 * refuses: so 9999-12-30 is the last day that can be listed, and no session starts after it.
 * Listing an earlier day than 2000 is fine (and empty).
 */
const SESSION_DAYS = { min: '2000-01-01', max: '9999-12-30' };
const SESSION_STARTS = {
  min: `${SESSION_DAYS.min}T00:00:00.000Z`,
  max: `${SESSION_DAYS.max}T23:59:59.999Z`,
};

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
  startsAt: isoInstant(SESSION_STARTS).required(),
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
        date: calendarDate({ max: SESSION_DAYS.max }),
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
      handler: async ({ params }) => ({
        status: 200,
        json: await catalogue.seatMapJson(params.id),
      }),
    },
  ];
}
