import Joi from 'joi';
import { buildOpenApiDocument } from '../../api/http/openapi';
import type { RouteSpec } from '../../api/http/route';

const handler: RouteSpec['handler'] = async () => ({ status: 200, body: {} });

const getSeat: RouteSpec = {
  method: 'get',
  path: '/api/v1/sessions/:sessionId/seats/:seatId',
  tag: 'Sessions',
  summary: 'One seat of one session',
  params: Joi.object({
    sessionId: Joi.string().uuid().required(),
    seatId: Joi.string().uuid().required(),
  }),
  query: Joi.object({
    date: Joi.string().required().description('Day, YYYY-MM-DD'),
    movieId: Joi.string().uuid(),
  }),
  responses: {
    200: { description: 'The seat', schema: Joi.object({ id: Joi.string(), label: Joi.string() }) },
    404: { description: 'No such seat' },
  },
  handler,
};

const createMovie: RouteSpec = {
  method: 'post',
  path: '/api/v1/movies',
  tag: 'Movies',
  summary: 'Add a movie',
  auth: 'admin',
  body: Joi.object({
    title: Joi.string().required(),
    durationMinutes: Joi.number().integer().min(1).required(),
    rating: Joi.string(),
  }),
  responses: { 201: { description: 'Created' }, 401: { description: 'No admin token' } },
  handler,
};

const listMovies: RouteSpec = {
  method: 'get',
  path: '/api/v1/movies',
  tag: 'Movies',
  summary: 'Every movie',
  responses: {
    200: { description: 'The movies', schema: Joi.array().items(Joi.object({ id: Joi.string() })) },
  },
  handler,
};

const doc = buildOpenApiDocument([getSeat, createMovie, listMovies], {
  title: 'Cine',
  version: '1.2.3',
});
const ERROR_REF = { $ref: '#/components/schemas/Error' };
const SEAT_PATH = '/api/v1/sessions/{sessionId}/seats/{seatId}';

type Responses = Record<
  string,
  { description: string; content?: Record<string, { schema: unknown }> }
>;
const operation = (path: string, method: string) => doc.paths[path]?.[method] ?? {};
const responsesOf = (path: string, method: string) =>
  operation(path, method).responses as Responses;
const jsonSchemaOf = (path: string, method: string, status: number) =>
  responsesOf(path, method)[String(status)]?.content?.['application/json']?.schema;

describe('buildOpenApiDocument', () => {
  it('when built, then it is an OpenAPI 3 document with the given info and an Error schema', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info).toEqual({ title: 'Cine', version: '1.2.3' });
    expect(doc.components.schemas.Error).toMatchObject({ type: 'object', required: ['error'] });
  });

  it('when a path has Express parameters, then they are written the OpenAPI way', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/v1/movies', SEAT_PATH]);
  });

  it('when two methods share a path, then both are documented under it', () => {
    expect(Object.keys(doc.paths['/api/v1/movies'] ?? {}).sort()).toEqual(['get', 'post']);
  });

  it('when a route has path and query parameters, then they are listed with their required flags', () => {
    const seat = operation(SEAT_PATH, 'get');
    expect(seat).toMatchObject({ tags: ['Sessions'], summary: 'One seat of one session' });
    const parameters = seat.parameters as {
      name: string;
      in: string;
      required: boolean;
      description?: string;
    }[];
    expect(
      parameters.map(({ name, in: location, required }) => ({ name, in: location, required })),
    ).toEqual([
      { name: 'sessionId', in: 'path', required: true },
      { name: 'seatId', in: 'path', required: true },
      { name: 'date', in: 'query', required: true },
      { name: 'movieId', in: 'query', required: false },
    ]);
    expect(parameters.find((p) => p.name === 'date')?.description).toBe('Day, YYYY-MM-DD');
    expect(parameters.find((p) => p.name === 'movieId')).toHaveProperty('schema', {
      type: 'string',
      format: 'uuid',
    });
  });

  it('when a route takes a body, then its JSON schema is the required request body', () => {
    expect(operation('/api/v1/movies', 'post').requestBody).toMatchObject({
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: expect.arrayContaining(['title', 'durationMinutes']),
            properties: {
              title: { type: 'string' },
              durationMinutes: { type: 'integer', minimum: 1 },
              rating: { type: 'string' },
            },
          },
        },
      },
    });
    expect(operation('/api/v1/movies', 'get').requestBody).toBeUndefined();
  });

  it('when a route is admin-only, then it requires the admin bearer scheme, and public routes do not', () => {
    expect(operation('/api/v1/movies', 'post').security).toEqual([{ adminBearer: [] }]);
    expect(doc.components.securitySchemes).toHaveProperty('adminBearer', {
      type: 'http',
      scheme: 'bearer',
      description: 'ADMIN_TOKEN',
    });
    expect(operation('/api/v1/movies', 'get').security).toBeUndefined();
    expect(operation(SEAT_PATH, 'get').security).toBeUndefined();
  });

  it('when an error response has no schema of its own, then it references the Error schema', () => {
    expect(responsesOf(SEAT_PATH, 'get')['404']).toEqual({
      description: 'No such seat',
      content: { 'application/json': { schema: ERROR_REF } },
    });
    expect(jsonSchemaOf('/api/v1/movies', 'post', 401)).toEqual(ERROR_REF);
  });

  it('when a success response has a schema, then it is converted, and one without a schema has no content', () => {
    expect(jsonSchemaOf(SEAT_PATH, 'get', 200)).toMatchObject({
      type: 'object',
      properties: { id: { type: 'string' }, label: { type: 'string' } },
    });
    expect(responsesOf('/api/v1/movies', 'post')['201']).toEqual({ description: 'Created' });
  });

  it('when a route validates input, then a 400 VALIDATION_FAILED answer is documented with the Error schema', () => {
    expect(jsonSchemaOf('/api/v1/movies', 'post', 400)).toEqual(ERROR_REF);
    expect(jsonSchemaOf(SEAT_PATH, 'get', 400)).toEqual(ERROR_REF);
    expect(responsesOf('/api/v1/movies', 'get')['400']).toBeUndefined();
  });
});
