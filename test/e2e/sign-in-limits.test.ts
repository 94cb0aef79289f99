/**
 * §4.6 over real HTTP: sign-in, refresh and sign-up are limited per client address and per email
 * (`429 RATE_LIMITED` with `Retry-After`, counted in Redis), and password hashing is bounded
 * (`503 BUSY` with `Retry-After` at once past the bound). A refused attempt costs no password
 * hash and, once refused per email, no database query either. Addresses come from
 * X-Forwarded-For, believed from the loopback proxy (TRUST_PROXY=loopback). Each describe runs
 * its own API (one after the other: they share this file's Redis db).
 */
import { randomUUID } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import request from 'supertest';
import { DEMO_USER_EMAILS } from '../../shared/setup/demo-seeder';
import { startTestApi, type TestApi } from '../support/api';
import { BUYER_PASSWORD, DEMO_PASSWORD } from '../support/buyers';
import { startRealServer } from '../support/http-server';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';

// The real binding, watched: a refused attempt must not reach it.
jest.mock('@node-rs/argon2', () => {
  const actual = jest.requireActual('@node-rs/argon2');
  return { ...actual, hash: jest.fn(actual.hash), verify: jest.fn(actual.verify) };
});

const WINDOW_SECONDS = 60;
const [ANA] = DEMO_USER_EMAILS as [string];

let redisDb: OwnRedisDb;
beforeAll(async () => {
  redisDb = await claimRedisDb();
});
afterAll(async () => {
  await redisDb?.release();
});

async function setUp(env: Record<string, string>): Promise<TestApi> {
  const api = await startTestApi({
    REDIS_DB: redisDb.db,
    TRUST_PROXY: 'loopback',
    AUTH_RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
    ...env,
  });
  await redisDb.mark();
  return api;
}

/** A fresh client address from the documentation range, so every test has a whole budget. */
const newAddress = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}`;

const signInFrom = (api: TestApi, from: string, email: string, password: string) =>
  request(api.app)
    .post('/api/v1/auth/token')
    .set('X-Forwarded-For', from)
    .send({ email, password });

/** Password hashes and checks, and Postgres statements, made while `act` runs. */
async function workDoneBy(api: TestApi, act: () => Promise<unknown>) {
  const hashing = [jest.mocked(argon2Hash), jest.mocked(argon2Verify)];
  const connection = api.db.orm.em.getConnection();
  const execute = jest.spyOn(connection, 'execute');
  const hashesBefore = hashing.reduce((n, fn) => n + fn.mock.calls.length, 0);
  try {
    await act();
    return {
      hashes: hashing.reduce((n, fn) => n + fn.mock.calls.length, 0) - hashesBefore,
      queries: execute.mock.calls.length,
    };
  } finally {
    execute.mockRestore();
  }
}

function expectRateLimited(res: request.Response) {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({
    error: expect.objectContaining({
      code: 'RATE_LIMITED',
      message: expect.any(String),
      retryAfterSeconds: expect.any(Number),
    }),
  });
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
  expect(res.body.error.retryAfterSeconds).toBe(retryAfter);
}

describe('per client address (AUTH_RATE_LIMIT_PER_IP=4, per email off)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await setUp({ AUTH_RATE_LIMIT_PER_IP: '4', AUTH_RATE_LIMIT_PER_EMAIL: '0' });
  });
  afterAll(() => api.close());

  it('when an address has made its attempts, right or wrong, then its next sign-in is 429 RATE_LIMITED with Retry-After, spending no hash; another address still signs in', async () => {
    const from = newAddress();
    const tries = [
      await signInFrom(api, from, ANA, DEMO_PASSWORD),
      ...(await Promise.all(
        Array.from({ length: 3 }, () => signInFrom(api, from, ANA, 'a-wrong-guess')),
      )),
    ];
    expect(tries.map((res) => res.status).sort()).toEqual([200, 401, 401, 401]);

    let refused!: request.Response;
    const work = await workDoneBy(api, async () => {
      refused = await signInFrom(api, from, ANA, DEMO_PASSWORD);
    });
    expectRateLimited(refused);
    expect(work.hashes).toBe(0);
    expect(work.queries).toBe(0);

    expect((await signInFrom(api, newAddress(), ANA, DEMO_PASSWORD)).status).toBe(200);
  });

  it('when an address has made its attempts, then its refreshes and sign-ups are refused too (one budget for the three)', async () => {
    const from = newAddress();
    const { refreshToken } = (await signInFrom(api, from, ANA, DEMO_PASSWORD).expect(200)).body;
    await request(api.app)
      .post('/api/v1/auth/refresh')
      .set('X-Forwarded-For', from)
      .send({ refreshToken })
      .expect(200);
    await request(api.app)
      .post('/api/v1/users')
      .set('X-Forwarded-For', from)
      .send({ name: 'Um', email: `one-${randomUUID()}@example.com`, password: BUYER_PASSWORD })
      .expect(201);
    await signInFrom(api, from, ANA, 'a-wrong-guess').expect(401);

    expectRateLimited(
      await request(api.app)
        .post('/api/v1/auth/refresh')
        .set('X-Forwarded-For', from)
        .send({ refreshToken: 'x'.repeat(43) }),
    );
    const email = `two-${randomUUID()}@example.com`;
    expectRateLimited(
      await request(api.app)
        .post('/api/v1/users')
        .set('X-Forwarded-For', from)
        .send({ name: 'Dois', email, password: BUYER_PASSWORD }),
    );
    // Refused before anything was written.
    await signInFrom(api, newAddress(), email, BUYER_PASSWORD).expect(401);
  });
});

describe('per email (AUTH_RATE_LIMIT_PER_EMAIL=3, per address off)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await setUp({ AUTH_RATE_LIMIT_PER_IP: '0', AUTH_RATE_LIMIT_PER_EMAIL: '3' });
  });
  afterAll(() => api.close());

  it('when an email has had its attempts from many addresses, successful ones included, then its next sign-in is 429 even with the right password, spending no hash and no query; other emails go on', async () => {
    const email = `guessed-${randomUUID()}@example.com`;
    await request(api.app)
      .post('/api/v1/users')
      .send({ name: 'Alvo', email, password: BUYER_PASSWORD })
      .expect(201); // sign-up names the email too: the first of its three
    const accepted = await workDoneBy(api, () =>
      signInFrom(api, newAddress(), email, BUYER_PASSWORD).expect(200),
    );
    // What a sign-in that is let through costs, so the zeros below mean something.
    expect(accepted.hashes).toBeGreaterThan(0);
    expect(accepted.queries).toBeGreaterThan(0);
    await signInFrom(api, newAddress(), email.toUpperCase(), 'a-wrong-guess').expect(401);

    let refused!: request.Response;
    const work = await workDoneBy(api, async () => {
      refused = await signInFrom(api, newAddress(), email, BUYER_PASSWORD);
    });
    expectRateLimited(refused);
    expect(work).toEqual({ hashes: 0, queries: 0 });

    await signInFrom(api, newAddress(), ANA, DEMO_PASSWORD).expect(200);
  });

  it('when an email has had its attempts, then signing up with it is refused too', async () => {
    const email = `taken-${randomUUID()}@example.com`;
    for (let i = 0; i < 3; i++) await signInFrom(api, newAddress(), email, 'a-wrong-guess');
    expectRateLimited(
      await request(api.app)
        .post('/api/v1/users')
        .send({ name: 'Tarde', email, password: BUYER_PASSWORD }),
    );
  });
});

describe('limits off (both 0)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await setUp({ AUTH_RATE_LIMIT_PER_IP: '0', AUTH_RATE_LIMIT_PER_EMAIL: '0' });
  });
  afterAll(() => api.close());

  it('when both limits are 0, then one address signing one email in many times is never refused', async () => {
    const from = newAddress();
    for (let i = 0; i < 15; i++) await signInFrom(api, from, ANA, DEMO_PASSWORD).expect(200);
  });
});

describe('bounded hashing (PASSWORD_HASH_CONCURRENCY=1, PASSWORD_HASH_MAX_WAITING=2)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await setUp({ PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_MAX_WAITING: '2' });
  });
  afterAll(() => api.close());

  it('when more sign-ins arrive at once than run and wait, then the excess is 503 BUSY with Retry-After at once, the rest are answered as usual, and nothing else is a 5xx', async () => {
    const server = await startRealServer(api.app);
    try {
      const answers = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const res = await fetch(`${server.baseUrl}/api/v1/auth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              email: ANA,
              password: i % 2 === 0 ? DEMO_PASSWORD : 'a-wrong-guess',
            }),
          });
          return {
            status: res.status,
            retryAfter: res.headers.get('retry-after'),
            body: (await res.json()) as { error?: { code: string } },
            wrong: i % 2 === 1,
          };
        }),
      );
      expect(server.inFlight.peak).toBeGreaterThan(3);
      const busy = answers.filter((a) => a.status === 503);
      expect(busy.length).toBeGreaterThan(0);
      for (const a of busy) {
        expect(a.body.error?.code).toBe('BUSY');
        expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      }
      const answered = answers.filter((a) => a.status !== 503);
      expect(answered.length).toBeGreaterThanOrEqual(3);
      for (const a of answered) expect(a.status).toBe(a.wrong ? 401 : 200);
    } finally {
      await server.close();
    }
  });
});
