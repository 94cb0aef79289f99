import request from 'supertest';
import { createApp } from '../../api/app';
import { Directory } from '../../shared/catalogue/directory';
import { createRedis } from '../../shared/redis';
import { startTestApi, type TestApi } from '../support/api';
import { silentLogger } from '../support/database';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => {
  await api.close();
});

const http = () => request(api.app);

describe('the HTTP contract every route keeps', () => {
  it('when a route does not exist, then it answers 404 in the error format', async () => {
    const res = await http().get('/api/v1/nothing-here').expect(404);
    expect(res.body).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: expect.any(String) } });
  });

  it('when the body is malformed JSON, then it answers 400 MALFORMED_JSON', async () => {
    const res = await http()
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send('{"name": "x",')
      .expect(400);
    expect(res.body.error.code).toBe('MALFORMED_JSON');
  });

  it('when the body is over 1 MB, then it answers 413 and stores nothing', async () => {
    const usersBefore = (await http().get('/api/v1/users').set(api.adminAuth)).body.total;
    const res = await http()
      .post('/api/v1/users')
      .send({ name: 'x'.repeat(1024 * 1024 + 10), email: 'big@example.com' })
      .expect(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await http().get('/api/v1/users').set(api.adminAuth)).body.total).toBe(usersBefore);
  });

  it('when the body is not JSON at all, then validation answers 400, not 500', async () => {
    const res = await http()
      .post('/api/v1/users')
      .set('Content-Type', 'text/plain')
      .send('hello')
      .expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('when the body is a JSON array or a scalar, then validation answers 400', async () => {
    await http()
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send('[1,2]')
      .expect(400);
    await http()
      .post('/api/v1/users')
      .set('Content-Type', 'application/json')
      .send('"x"')
      .expect(400);
  });

  it('echoes a sane X-Request-Id and generates one otherwise', async () => {
    const echoed = await http().get('/health/live').set('X-Request-Id', 'abc-123').expect(200);
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    const generated = await http()
      .get('/health/live')
      .set('X-Request-Id', 'bad id with spaces')
      .expect(200);
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('says it is live, and ready when Postgres and Redis answer', async () => {
    expect((await http().get('/health/live').expect(200)).body).toEqual({ status: 'ok' });
    expect((await http().get('/health/ready').expect(200)).body).toEqual({
      status: 'ready',
      checks: { postgres: 'up', redis: 'up' },
    });
  });

  it('when Redis cannot be reached, then readiness answers 503 naming it', async () => {
    // A real client aimed at a port nothing listens on: the outage is real, not simulated.
    const unreachable = createRedis(
      { ...api.db.config, redis: { ...api.db.config.redis, port: 1 } },
      { maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false },
    );
    unreachable.on('error', () => undefined);
    const app = createApp({
      config: api.db.config,
      logger: silentLogger,
      orm: api.db.orm,
      redis: unreachable,
      queues: api.queues,
      directory: new Directory(api.db.orm),
    });
    const res = await request(app).get('/health/ready').expect(503);
    expect(res.body).toEqual({ status: 'unavailable', checks: { postgres: 'up', redis: 'down' } });
    unreachable.disconnect();
  });

  it('serves an OpenAPI document listing every route, with its schemas', async () => {
    const res = await http().get('/api-docs.json').expect(200);
    expect(res.body.openapi).toMatch(/^3\./);
    for (const [path, method] of [
      ['/api/v1/users', 'get'],
      ['/api/v1/users', 'post'],
      ['/api/v1/movies', 'post'],
      ['/api/v1/rooms', 'post'],
      ['/api/v1/sessions', 'get'],
      ['/api/v1/sessions', 'post'],
      ['/api/v1/sessions/{id}', 'get'],
      ['/seed/users', 'get'],
      ['/sessao/todas', 'get'],
      ['/health/ready', 'get'],
    ] as const) {
      expect(res.body.paths[path]?.[method]).toBeDefined();
    }
    const signUp = res.body.paths['/api/v1/users'].post;
    expect(signUp.requestBody.content['application/json'].schema.required).toEqual([
      'name',
      'email',
      'password',
    ]);
    expect(signUp.security).toBeUndefined();
    const paths = res.body.paths;
    expect(paths['/api/v1/movies'].post.security).toEqual([{ adminBearer: [] }]);
    expect(paths['/api/v1/users'].get.security).toEqual([{ adminBearer: [] }]);
    for (const [path, method] of [
      ['/api/v1/holds', 'post'],
      ['/api/v1/holds/{holdId}', 'get'],
      ['/api/v1/holds/{holdId}/confirm', 'post'],
      ['/api/v1/holds/{holdId}', 'delete'],
      ['/api/v1/holds/{holdId}/payment', 'post'],
      ['/api/v1/me', 'get'],
      ['/api/v1/me/orders', 'get'],
      ['/api/v1/auth/logout', 'post'],
    ] as const) {
      expect(paths[path][method].security).toEqual([{ buyerBearer: [] }]);
    }
    for (const path of ['/api/v1/orders/{orderId}', '/api/v1/users/{userId}/orders']) {
      expect(paths[path].get.security).toEqual([{ buyerBearer: [] }, { adminBearer: [] }]);
    }
    expect(paths['/api/v1/auth/token'].post.security).toBeUndefined();
    expect(res.body.components.securitySchemes.buyerBearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(res.body.paths['/api/v1/sessions/{id}'].get.parameters[0]).toMatchObject({
      name: 'id',
      in: 'path',
      required: true,
    });
  });

  it('renders the OpenAPI document at /api-docs', async () => {
    const res = await http().get('/api-docs/').expect(200);
    expect(res.text).toContain('swagger-ui');
  });
});
