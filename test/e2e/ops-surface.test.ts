import type { Express } from 'express';
import request from 'supertest';
import { apiInstance, startTestApi, type TestApi } from '../support/api';

/**
 * What an operator's tools reach on the API (§4.5): /metrics with the scraper's own token only,
 * and a Bull Board that in production shows jobs without letting anyone change them.
 */
const METRICS_TOKEN = 'scraper-secret-0123456789abcdef';

let api: TestApi;
/** Another instance on the same database, set as an operator who opted out of each guard. */
let open: Awaited<ReturnType<typeof apiInstance>>;

beforeAll(async () => {
  api = await startTestApi({ METRICS_TOKEN, BULL_BOARD_READ_ONLY: 'true' });
  open = await apiInstance({
    orm: api.db.orm,
    config: { ...api.db.config, metricsToken: null, bullBoardReadOnly: false },
  });
});
afterAll(async () => {
  await open?.queues.close();
  await open?.redis.quit();
  await api?.close();
});

const http = (app: Express = api.app) => request(app);

describe('/metrics', () => {
  it('when the scraper presents METRICS_TOKEN, then the metrics are served', async () => {
    const res = await http()
      .get('/metrics')
      .set('Authorization', `Bearer ${METRICS_TOKEN}`)
      .expect(200);
    expect(res.text).toContain('http_request_duration_seconds');
  });

  it.each([
    ['the admin token', () => `Bearer ${api.db.config.adminToken}`],
    ['a wrong token', () => 'Bearer scraper-secret-0123456789abcdeX'],
    ['the token as Basic', () => `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`],
    ['nothing', () => ''],
  ])('when a caller presents %s, then 401 with a Bearer challenge', async (_what, header) => {
    const res = await http().get('/metrics').set('Authorization', header()).expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.text).not.toContain('http_request_duration_seconds');
  });

  it('when METRICS_TOKEN is not set, then every request is refused, the admin token too', async () => {
    await http(open.app)
      .get('/metrics')
      .set('Authorization', `Bearer ${api.db.config.adminToken}`)
      .expect(401);
    await http(open.app).get('/metrics').set('Authorization', 'Bearer ').expect(401);
  });
});

describe('Bull Board', () => {
  const job = { name: 'planted-by-test', data: { n: 1 }, options: { delay: 3_600_000 } };

  it('when it is read-only, then the board and its queues still render', async () => {
    const page = await http().get('/admin/queues').set(api.adminAuth).expect(200);
    expect(page.text).toContain('<html');
    const queues = await http().get('/admin/queues/api/queues').set(api.adminAuth).expect(200);
    const expiry = queues.body.queues.find((q: { name: string }) => q.name === 'hold-expiry');
    expect(expiry).toMatchObject({ readOnlyMode: true });
  });

  it.each([
    ['post', '/api/queues/hold-expiry/add'],
    ['put', '/api/queues/hold-expiry/retry/failed'],
    ['put', '/api/queues/hold-expiry/promote'],
    ['put', '/api/queues/hold-expiry/clean/delayed'],
    ['put', '/api/queues/hold-expiry/empty'],
    ['put', '/api/queues/hold-expiry/pause'],
  ] as const)(
    'when it is read-only, then the admin %s %s is refused and changes nothing',
    async (method, path) => {
      const before = await api.queues.expiry.getJobCounts();
      await http()[method](`/admin/queues${path}`).set(api.adminAuth).send(job).expect(405);
      expect(await api.queues.expiry.getJobCounts()).toEqual(before);
      expect(await api.queues.expiry.isPaused()).toBe(false);
    },
  );

  it('when an operator turned read-only off, then the same admin can add a job (so the refusals above are the mode)', async () => {
    const added = await http(open.app)
      .post('/admin/queues/api/queues/hold-expiry/add')
      .set(api.adminAuth)
      .send(job)
      .expect(200);
    const planted = await api.queues.expiry.getJob(added.body.job.id);
    expect(planted?.name).toBe(job.name);
    await planted?.remove();
  });
});
