/**
 * §4.2 / §4.6 rate limits on the hold routes: per signed-in buyer and per client address,
 * counted in Redis so every API instance shares one budget; `429 RATE_LIMITED` with
 * `Retry-After`; 0 turns a limit off; a request refused before authentication spends no buyer's
 * budget. Addresses come from X-Forwarded-For only where TRUST_PROXY believes the proxy (here
 * `loopback`: supertest's requests come from 127.0.0.1). Each describe runs its own API (one after
 * the other: they share this file's Redis db).
 */
import type { Express } from 'express';
import request from 'supertest';
import type { CheckoutQueues } from '../../shared/queues';
import type { RedisClient } from '../../shared/redis';
import { apiInstance, startTestApi } from '../support/api';
import { asBuyer, insertBuyers } from '../support/buyers';
import { Dealer, scanKeys, seededCinema } from '../support/cinema';

const WINDOW_SECONDS = 60;

/** The API, its 200-seat session, and helpers to use fresh seats and new users. */
async function setUp(env: Record<string, string>) {
  const api = await startTestApi({
    RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
    TRUST_PROXY: 'loopback',
    ...env,
  });
  const { big } = await seededCinema(api.app);
  const dealer = new Dealer(big.seats);
  return {
    api,
    sessionId: big.id,
    /** Seats no other test of this API has used. */
    freshSeat: () => dealer.freshSeats(1)[0]!,
    /** A user no other test has used, so their budget is whole. */
    newUser: async (): Promise<string> => (await insertBuyers(api.db, 1, 'Limited'))[0]!,
  };
}

type Setup = Awaited<ReturnType<typeof setUp>>;

/** A hold request of a signed-in buyer, sent through a proxy for `from` if given. */
const hold = (app: Express, userId: string, seatIds: string[], from?: string) => {
  const req = request(app).post('/api/v1/holds').set(asBuyer(userId));
  if (from) req.set('X-Forwarded-For', from);
  return req.send({ seatIds });
};

/** What Redis holds for a user in a session: its seats, and its hold records. */
async function heldBy(ctx: Setup, userId: string) {
  const { redis } = ctx.api;
  const seats = await redis.zcard(`user-seats:{${ctx.sessionId}}:${userId}`);
  const holdKeys = await scanKeys(redis, `hold:{${ctx.sessionId}}:*`);
  const owners = await Promise.all(holdKeys.map((key) => redis.hget(key, 'userId')));
  return { seats, holds: owners.filter((owner) => owner === userId).length };
}

function expectRateLimited(res: request.Response) {
  expect(res.status).toBe(429);
  expect(res.body.error.code).toBe('RATE_LIMITED');
  expect(res.body.error.code).not.toBe('HOLD_LIMIT');
  const retryAfter = res.headers['retry-after'];
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(WINDOW_SECONDS);
  expect(res.body.error.retryAfterSeconds).toBe(Number(retryAfter));
}

describe('per-user limit (RATE_LIMIT_PER_USER=3 per 60 s, per-IP off)', () => {
  let ctx: Setup;
  /** A second API instance on the same Redis, with its own connections, as another process. */
  let other: { app: Express; redis: RedisClient; queues: CheckoutQueues };

  beforeAll(async () => {
    ctx = await setUp({ RATE_LIMIT_PER_USER: '3', RATE_LIMIT_PER_IP: '0' });
    other = await apiInstance(ctx.api.db);
  });
  afterAll(async () => {
    await other.queues.close();
    await other.redis.quit();
    await ctx.api.close();
  });

  it('when a user sends a 4th hold request within the window, then it answers 429 RATE_LIMITED with Retry-After, and holds nothing', async () => {
    const { app } = ctx.api;
    const user = await ctx.newUser();
    for (let i = 0; i < 3; i += 1) await hold(app, user, [ctx.freshSeat()]).expect(201);

    const refusedSeat = ctx.freshSeat();
    const res = await hold(app, user, [refusedSeat]);
    expectRateLimited(res);
    expect(await ctx.api.redis.exists(`seat:{${ctx.sessionId}}:${refusedSeat}`)).toBe(0);
    expect(await heldBy(ctx, user)).toEqual({ seats: 3, holds: 3 });
    // It is the rate limit, not the seat limit: the user holds 3 of MAX_SEATS_PER_HOLD (10).
    expect(ctx.api.db.config.holds.maxSeatsPerHold).toBeGreaterThan(4);
  });

  it('when one user is limited, then other users are still served', async () => {
    const { app } = ctx.api;
    const greedy = await ctx.newUser();
    for (let i = 0; i < 3; i += 1) await hold(app, greedy, [ctx.freshSeat()]).expect(201);
    expectRateLimited(await hold(app, greedy, [ctx.freshSeat()]));

    const patient = await ctx.newUser();
    const res = await hold(app, patient, [ctx.freshSeat()]).expect(201);
    expect(res.body.userId).toBe(patient);
  });

  it('when a user spreads requests over two API instances, then the budget is shared: 2 on A + 2 on B, the 4th is refused', async () => {
    const user = await ctx.newUser();
    await hold(ctx.api.app, user, [ctx.freshSeat()]).expect(201);
    await hold(ctx.api.app, user, [ctx.freshSeat()]).expect(201);
    await hold(other.app, user, [ctx.freshSeat()]).expect(201);
    expectRateLimited(await hold(other.app, user, [ctx.freshSeat()]));
    expectRateLimited(await hold(ctx.api.app, user, [ctx.freshSeat()]));
    expect(await heldBy(ctx, user)).toEqual({ seats: 3, holds: 3 });
  });

  it("when requests are refused before they are authenticated as a buyer, or merely name the buyer (seed route, body), then they spend none of that buyer's budget", async () => {
    const { app } = ctx.api;
    const user = await ctx.newUser();
    for (let i = 0; i < 5; i += 1) {
      await request(app)
        .post('/api/v1/holds')
        .send({ userId: user, seatIds: [ctx.freshSeat()] })
        .expect(401);
      await request(app)
        .post('/api/v1/holds')
        .set('Authorization', 'Bearer not-a-token')
        .send({ userId: user, seatIds: [ctx.freshSeat()] })
        .expect(401);
    }
    const someoneElse = await ctx.newUser();
    await hold(app, someoneElse, [ctx.freshSeat()]).expect(201);
    await request(app)
      .post('/api/v1/holds')
      .set(asBuyer(someoneElse))
      .send({ userId: user, seatIds: [ctx.freshSeat()] })
      .expect(403);
    for (let i = 0; i < 3; i += 1) {
      await request(app)
        .post('/reserva/assento')
        .send({ usuario_id: user, assento_id: ctx.freshSeat() })
        .expect(201);
    }
    // The buyer's own three requests of the window are all still there.
    for (let i = 0; i < 3; i += 1) await hold(app, user, [ctx.freshSeat()]).expect(201);
    expectRateLimited(await hold(app, user, [ctx.freshSeat()]));
  });

  it('when a user fires many hold requests at once, then exactly the limit of them get through', async () => {
    const user = await ctx.newUser();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => hold(ctx.api.app, user, [ctx.freshSeat()])),
    );
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses).toEqual([201, 201, 201, ...Array(7).fill(429)]);
    expect(await heldBy(ctx, user)).toEqual({ seats: 3, holds: 3 });
  });

  it('when a buyer writes their own id in the body in another spelling (upper case), then it is still their one budget', async () => {
    const { app } = ctx.api;
    const user = await ctx.newUser();
    for (let i = 0; i < 3; i += 1) await hold(app, user, [ctx.freshSeat()]).expect(201);
    const seat = ctx.freshSeat();
    expectRateLimited(
      await request(app)
        .post('/api/v1/holds')
        .set(asBuyer(user))
        .send({ userId: user.toUpperCase(), seatIds: [seat] }),
    );
    expect(await ctx.api.redis.exists(`seat:{${ctx.sessionId}}:${seat}`)).toBe(0);
  });

  it('when the per-IP limit is 0, then many users from one address are all served', async () => {
    const users = await Promise.all(Array.from({ length: 8 }, () => ctx.newUser()));
    for (const user of users) {
      await hold(ctx.api.app, user, [ctx.freshSeat()], '198.51.100.77').expect(201);
    }
  });
});

describe('per-IP limit (RATE_LIMIT_PER_IP=5 per 60 s, per-user off)', () => {
  let ctx: Setup;

  beforeAll(async () => {
    ctx = await setUp({ RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '5' });
  });
  afterAll(async () => {
    await ctx.api.close();
  });

  it('when one address sends more hold requests than the limit, then it gets 429 even for users it has not used yet, and holds nothing', async () => {
    const { app } = ctx.api;
    const address = '203.0.113.10';
    const users = await Promise.all(Array.from({ length: 6 }, () => ctx.newUser()));
    for (const user of users.slice(0, 5))
      await hold(app, user, [ctx.freshSeat()], address).expect(201);

    const refusedSeat = ctx.freshSeat();
    expectRateLimited(await hold(app, users[5]!, [refusedSeat], address));
    expect(await ctx.api.redis.exists(`seat:{${ctx.sessionId}}:${refusedSeat}`)).toBe(0);
    expect(await heldBy(ctx, users[5]!)).toEqual({ seats: 0, holds: 0 });
  });

  it('when one address is limited, then another address is still served', async () => {
    const { app } = ctx.api;
    const user = await ctx.newUser();
    for (let i = 0; i < 5; i += 1)
      await hold(app, user, [ctx.freshSeat()], '203.0.113.20').expect(201);
    expectRateLimited(await hold(app, user, [ctx.freshSeat()], '203.0.113.20'));
    await hold(app, user, [ctx.freshSeat()], '203.0.113.21').expect(201);
  });

  it('when the per-user limit is 0, then one user from many addresses is never limited', async () => {
    const user = await ctx.newUser();
    for (let i = 0; i < 8; i += 1) {
      await hold(ctx.api.app, user, [ctx.freshSeat()], `203.0.113.${100 + i}`).expect(201);
    }
  });
});

describe('both limits 0 (the default test configuration)', () => {
  let ctx: Setup;

  beforeAll(async () => {
    ctx = await setUp({});
  });
  afterAll(async () => {
    await ctx.api.close();
  });

  it('when one user sends many hold requests from one address, then none is rate limited', async () => {
    expect(ctx.api.db.config.rateLimit).toMatchObject({ perUser: 0, perIp: 0 });
    const user = await ctx.newUser();
    const seat = ctx.freshSeat();
    const answers = [];
    for (let i = 0; i < 30; i += 1) answers.push((await hold(ctx.api.app, user, [seat])).status);
    expect(answers).toEqual([201, ...Array(29).fill(409)]);
  });
});

describe('client addresses without TRUST_PROXY (the default: no proxy is believed)', () => {
  let ctx: Setup;

  beforeAll(async () => {
    ctx = await setUp({ RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '3', TRUST_PROXY: '0' });
  });
  afterAll(async () => {
    await ctx.api.close();
  });

  it('when a client invents X-Forwarded-For addresses, then they are ignored: it is limited as the one address it is', async () => {
    const user = await ctx.newUser();
    for (let i = 0; i < 3; i += 1)
      await hold(ctx.api.app, user, [ctx.freshSeat()], `198.51.100.${i}`).expect(201);
    expectRateLimited(await hold(ctx.api.app, user, [ctx.freshSeat()], '198.51.100.99'));
  });
});
