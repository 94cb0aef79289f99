import Joi from 'joi';
import type {
  Catalogue,
  SessionFilter,
  SessionListPosition,
} from '../../shared/catalogue/catalogue';
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

/** Sessions per page of the list (§4.1). */
const LIST_LIMIT = { default: 100, max: 500 };

/**
 * The opaque `after` of a next-page link: the last listed session's (startsAt, id), base64url
 * JSON. Opaque so that clients follow links rather than build positions; validated on the way
 * back in like any input.
 */
const encodePosition = ({ startsAt, id }: SessionListPosition) =>
  Buffer.from(JSON.stringify([startsAt, id])).toString('base64url');

const listPosition = Joi.string()
  .max(200)
  .custom((value: string, helpers) => {
    const [startsAt, id] = parsePosition(value) ?? [];
    const valid =
      typeof startsAt === 'string' &&
      !Number.isNaN(Date.parse(startsAt)) &&
      uuid().validate(id).error === undefined;
    return valid ? { startsAt, id } : helpers.error('position.invalid');
  })
  .messages({ 'position.invalid': '{{#label}} must be the `after` of a next-page link' })
  .description('Where the page starts: the `after` of the previous page\'s Link rel="next"');

function parsePosition(value: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString());
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The RFC 8288 link to the page after this one: the same filter and limit, from `next`. */
function nextPageLink(
  query: SessionFilter & { limit: number },
  next: SessionListPosition,
): Record<string, string> {
  const params = new URLSearchParams();
  if (query.movieId !== undefined) params.set('movieId', query.movieId);
  if (query.date !== undefined) params.set('date', query.date);
  params.set('limit', String(query.limit));
  params.set('after', encodePosition(next));
  return { Link: `</api/v1/sessions?${params}>; rel="next"` };
}

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
      summary: `List sessions that have not ended (or those of a past day asked for by date, UTC), optionally of one movie, soonest first; at most limit (default ${LIST_LIMIT.default}, at most ${LIST_LIMIT.max}) per page, the next page named by a Link: <…>; rel="next" header (RFC 8288)`,
      query: Joi.object({
        movieId: uuid(),
        date: calendarDate({ max: SESSION_DAYS.max }),
        limit: Joi.number()
          .integer()
          .min(1)
          .max(LIST_LIMIT.max)
          .default(LIST_LIMIT.default)
          .description('Sessions per page'),
        after: listPosition,
      }),
      responses: {
        200: {
          description:
            'Sessions by start time; a Link header with rel="next" names the next page when there is one',
          schema: Joi.array().items(sessionSummary),
        },
      },
      handler: async ({ query }) => {
        const { movieId, date, limit, after } = query;
        const page = await catalogue.listSessions({ movieId, date }, { limit, after });
        return {
          status: 200,
          body: page.items,
          headers: page.next ? nextPageLink(query, page.next) : undefined,
        };
      },
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
