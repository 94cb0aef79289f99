import { networkInterfaces } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { envOf, freePort, startEntryProcess } from '../support/processes';
import { createTestVhost, type TestVhost } from '../support/rabbitmq';

/**
 * The entry points as the operator runs them: separate OS processes that answer their probes,
 * expose metrics, and stop cleanly (exit code 0) on SIGTERM and SIGINT.
 */
let db: TestDatabase;
let vhost: TestVhost;

beforeAll(async () => {
  db = await createTestDatabase();
  vhost = await createTestVhost();
});
afterAll(async () => {
  await vhost.delete();
  await db.drop();
});

const env = (extra: Record<string, string>) =>
  envOf({ ...db.config, rabbitmqUrl: vhost.url }, extra);

describe('the API process', () => {
  it('serves the catalogue, its metrics to the scraper only, and stops with exit code 0 on SIGTERM', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const metricsToken = 'scraper-secret-0123456789abcdef';
    const api = await startEntryProcess(
      'api/main.ts',
      env({ PORT: String(port), METRICS_TOKEN: metricsToken }),
      `${base}/health/ready`,
    );
    try {
      await request(base).get('/seed/users').expect(200);
      await request(base).get('/metrics').expect(401);
      await request(base)
        .get('/metrics')
        .set('Authorization', `Bearer ${db.config.adminToken}`)
        .expect(401);
      const metrics = await request(base)
        .get('/metrics')
        .set('Authorization', `Bearer ${metricsToken}`)
        .expect(200);
      expect(metrics.text).toMatch(
        /http_request_duration_seconds_bucket\{[^}]*route="\/seed\/users"/,
      );
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
    } finally {
      await api.kill();
    }
  });
});

/** This machine's addresses that are not loopback: where an unopened worker must not answer. */
const outsideAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((info) => info && !info.internal && info.family === 'IPv4')
    .map((info) => info!.address);

describe('a worker process', () => {
  it('has an address outside loopback to check that its probes are not served there', () => {
    expect(outsideAddresses().length).toBeGreaterThan(0);
  });

  it.each([
    ['holds', 'SIGTERM', /bullmq_queue_jobs\{queue="hold-expiry",state="delayed"\}/],
    ['finaliser', 'SIGINT', /rabbitmq_consumer_lag_messages\{queue="finaliser.payment-approved"\}/],
  ] as const)(
    'workers/%s answers /health/live, /health/ready and /metrics on loopback only, and stops with exit code 0 on %s',
    async (kind, signal, metric) => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const worker = await startEntryProcess(
        path.join('workers', kind, 'main.ts'),
        env({ METRICS_PORT: String(port) }),
        `${base}/health/ready`,
      );
      try {
        expect((await request(base).get('/health/live').expect(200)).body).toEqual({
          status: 'ok',
        });
        const ready = await request(base).get('/health/ready').expect(200);
        expect(ready.body.checks.redis).toBe('up');
        expect((await request(base).get('/metrics').expect(200)).text).toMatch(metric);
        await request(base).get('/nope').expect(404);
        for (const address of outsideAddresses()) {
          await expect(request(`http://${address}:${port}`).get('/health/live')).rejects.toThrow(
            /ECONNREFUSED/,
          );
        }
        worker.child.kill(signal);
        expect(await worker.exited).toBe(0);
      } finally {
        await worker.kill();
      }
    },
  );
});
