/**
 * §4.3 `GET /api/v1/orders/:orderId` with `Prefer: wait=N`: the buyer learns the outcome of a
 * payment with one request. Real API instances, Redis, RabbitMQ, Postgres and workers; the
 * workers start only once the request is waiting, so the answer can only come from the
 * settlement waking it (a request that slept its whole wait would outlast the test's timeout).
 */
import request from 'supertest';
import { OrderSettlements } from '../../api/live/order-settlements';
import { preferredWait } from '../../api/routes/orders';
import { MAX_OPEN_WAITS, OrderWaits } from '../../shared/orders/order-waits';
import { eventRelayWorker } from '../../workers/event-relay/worker';
import { finaliserWorker } from '../../workers/finaliser/worker';
import { paymentsWorker } from '../../workers/payments/worker';
import { apiInstance, startTestApi, type TestApi } from '../support/api';
import { asBuyer, asOwnerOf, testCard } from '../support/buyers';
import { confirmedHold, Dealer, seededCinema, type SeatMap, type User } from '../support/cinema';
import { silentLogger } from '../support/database';
import { startRealServer } from '../support/http-server';
import { createTestVhost, type TestVhost } from '../support/rabbitmq';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { waitFor } from '../support/wait';
import { startWorkers } from '../support/workers';

// Shorter than the waits the requests ask for: only a wake-up answers in time.
jest.setTimeout(15_000);
const LONG_WAIT = 25;

let redisDb: OwnRedisDb;
let vhost: TestVhost;
let api: TestApi;
/** Where the buyer waits: another instance than the one it paid through, with its own watcher. */
let other: Awaited<ReturnType<typeof apiInstance>>;
let settlements: OrderSettlements;
let users: User[];
let session: SeatMap;
let dealer: Dealer;

beforeAll(async () => {
  redisDb = await claimRedisDb();
  vhost = await createTestVhost();
  api = await startTestApi({ REDIS_DB: redisDb.db, RABBITMQ_URL: vhost.url });
  await redisDb.mark();
  settlements = new OrderSettlements(api.redis, silentLogger);
  other = await apiInstance(api.db, { orderSettlements: settlements });
  ({ users, big: session } = await seededCinema(api.app));
  dealer = new Dealer(session.seats);
});
afterAll(async () => {
  await settlements?.close();
  await other?.queues.close();
  await other?.redis.quit();
  await api?.close();
  await vhost?.delete();
  await redisDb?.release();
});

const card = testCard;

/** A confirmed hold of `user`, paid through the first instance: its order id. */
async function paidOrder(user: string, body: object = { method: 'pix' }) {
  const hold = await confirmedHold(api.app, user, dealer.freshSeats(1));
  const res = await request(api.app)
    .post(`/api/v1/holds/${hold.holdId}/payment`)
    .set(asOwnerOf(hold))
    .send(body)
    .expect(202);
  return res.body.orderId as string;
}

const waitingRead = (orderId: string, user: string, prefer: string) =>
  request(other.app).get(`/api/v1/orders/${orderId}`).set(asBuyer(user)).set('Prefer', prefer);

describe('Prefer: wait on an order', () => {
  it('when a buyer waits on another instance while the payment is processed, then that one request answers paid, saying it honoured the wait', async () => {
    const user = users[0]!.id;
    const orderId = await paidOrder(user);
    const answer = waitingRead(orderId, user, `wait=${LONG_WAIT}`).then((res) => res);
    await waitFor(() => settlements.waiters === 1, { what: 'the request to wait' });

    const workers = await startWorkers(api.db.config, [
      paymentsWorker,
      finaliserWorker,
      eventRelayWorker,
    ]);
    try {
      const res = await answer;
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ orderId, status: 'paid', userId: user });
      expect(res.headers['preference-applied']).toBe(`wait=${LONG_WAIT}`);
      expect(settlements.waiters).toBe(0);

      // Declined is an outcome too: the waiting request answers it at once.
      const declined = await paidOrder(user, {
        method: 'credit_card',
        card: card('4000000000000002'),
      });
      const res2 = await waitingRead(declined, user, `respond-async, wait=${LONG_WAIT}`);
      expect(res2.body).toMatchObject({ orderId: declined, status: 'declined' });
    } finally {
      await workers.stop();
    }
  });

  it('when the order is still processing after N seconds, then the answer is processing, after the wait', async () => {
    const user = users[1]!.id;
    const orderId = await paidOrder(user);
    const res = await waitingRead(orderId, user, 'wait=1');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ orderId, status: 'processing' });
    expect(res.headers['preference-applied']).toBe('wait=1');
    expect(settlements.waiters).toBe(0);
  });

  it("when a buyer waits on another buyer's order, then it is 404 at once and nothing waits", async () => {
    const orderId = await paidOrder(users[2]!.id);
    const res = await waitingRead(orderId, users[3]!.id, `wait=${LONG_WAIT}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('ORDER_NOT_FOUND');
    expect(settlements.waiters).toBe(0);
  });

  it('when the API stops while a request waits, then the request answers with the order as it is', async () => {
    const user = users[4]!.id;
    const orderId = await paidOrder(user);
    const stopping = new OrderSettlements(api.redis, silentLogger);
    const instance = await apiInstance(api.db, { orderSettlements: stopping });
    try {
      const answer = request(instance.app)
        .get(`/api/v1/orders/${orderId}`)
        .set(asBuyer(user))
        .set('Prefer', `wait=${LONG_WAIT}`)
        .then((res) => res);
      await waitFor(() => stopping.waiters === 1, { what: 'the request to wait' });
      await stopping.close();
      expect((await answer).body).toMatchObject({ orderId, status: 'processing' });
    } finally {
      await instance.queues.close();
      await instance.redis.quit();
    }
  });

  it('when Prefer has no usable wait, then the order is answered at once, without Preference-Applied', async () => {
    const user = users[5]!.id;
    const orderId = await paidOrder(user);
    for (const prefer of ['wait=soon', 'respond-async', 'wait=-1']) {
      const res = await waitingRead(orderId, user, prefer);
      expect(res.status).toBe(200);
      expect(res.headers['preference-applied']).toBeUndefined();
    }
    const tooLong = await request(other.app)
      .get(`/api/v1/orders/${orderId}`)
      .set(asBuyer(user))
      .set('Prefer', 'x'.repeat(201));
    expect(tooLong.status).toBe(400);
  });
});

describe('open waits per buyer', () => {
  /** A waiting read over a real socket, which the test can drop as a client would. */
  function openWait(baseUrl: string, orderId: string, caller: Record<string, string>) {
    const abort = new AbortController();
    const answer = fetch(`${baseUrl}/api/v1/orders/${orderId}`, {
      headers: { ...caller, Prefer: `wait=${LONG_WAIT}` },
      signal: abort.signal,
    }).catch(() => undefined);
    return { answer, drop: () => abort.abort() };
  }

  it(`when a buyer has ${MAX_OPEN_WAITS} waits open, then one more is 429 TOO_MANY_WAITS with Retry-After; once the client drops a wait, its slot, subscription and timer go at once`, async () => {
    const user = users[6]!.id;
    const waits = new OrderWaits(api.redis);
    const orderId = await paidOrder(user);
    const server = await startRealServer(other.app);
    const open = Array.from({ length: MAX_OPEN_WAITS }, () =>
      openWait(server.baseUrl, orderId, asBuyer(user)),
    );
    try {
      await waitFor(() => settlements.waiters === MAX_OPEN_WAITS, { what: 'the waits to start' });
      expect(await waits.open(user)).toBe(MAX_OPEN_WAITS);

      const refused = await waitingRead(orderId, user, `wait=${LONG_WAIT}`);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('TOO_MANY_WAITS');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(settlements.waiters).toBe(MAX_OPEN_WAITS);
      // A read that does not wait is not counted.
      await waitingRead(orderId, user, 'respond-async').expect(200);

      open[0]!.drop();
      await waitFor(() => settlements.waiters === MAX_OPEN_WAITS - 1, {
        what: 'the dropped wait to stop waiting',
      });
      await waitFor(async () => (await waits.open(user)) === MAX_OPEN_WAITS - 1, {
        what: 'the dropped wait to give its slot back',
      });
      const again = await waitingRead(orderId, user, 'wait=1');
      expect(again.status).toBe(200);
      expect(again.headers['preference-applied']).toBe('wait=1');
    } finally {
      open.forEach((wait) => wait.drop());
      await Promise.all(open.map((wait) => wait.answer));
      await waitFor(async () => (await waits.open(user)) === 0 && settlements.waiters === 0, {
        what: 'every wait to end',
      });
      await server.close();
    }
  });

  it('when the admin token waits, then its waits are capped as one caller', async () => {
    const orderId = await paidOrder(users[7]!.id);
    const server = await startRealServer(other.app);
    const open = Array.from({ length: MAX_OPEN_WAITS }, () =>
      openWait(server.baseUrl, orderId, api.adminAuth),
    );
    try {
      await waitFor(() => settlements.waiters === MAX_OPEN_WAITS, { what: 'the waits to start' });
      const refused = await request(other.app)
        .get(`/api/v1/orders/${orderId}`)
        .set(api.adminAuth)
        .set('Prefer', `wait=${LONG_WAIT}`);
      expect(refused.status).toBe(429);
    } finally {
      open.forEach((wait) => wait.drop());
      await Promise.all(open.map((wait) => wait.answer));
      await waitFor(() => settlements.waiters === 0, { what: 'every wait to end' });
      await server.close();
    }
  });
});

describe('preferredWait', () => {
  it.each([
    ['wait=10', 10],
    ['WAIT = 5', 5],
    ['respond-async, wait=3', 3],
    ['wait="7"', 7],
    ['wait=10; foo=bar', 10],
    ['wait=999', 30],
    ['wait=0', 0],
  ])('when Prefer is %p, then the wait is %p seconds', (prefer, seconds) => {
    expect(preferredWait(prefer)).toBe(seconds);
  });

  it.each([[undefined], [''], ['wait'], ['wait=abc'], ['wait=1.5'], ['handling=lenient']])(
    'when Prefer is %p, then there is no wait',
    (prefer) => {
      expect(preferredWait(prefer)).toBeUndefined();
    },
  );
});
