/**
 * A premiere's first seconds: a few clients flood the cheap-looking first requests (sign-in, the
 * live seat map, big bodies, long waits) while a legitimate buyer holds seats. Each flood must be
 * refused as the contract says (429, 503, 413) and cost the buyer nothing: every one of their
 * holds succeeds during the flood. How much slower they get is measured by `npm run bench`
 * (floods scenario), not asserted here: a timed assertion would only measure this machine.
 * Real API on a real port, real Postgres and Redis; the flooders share the buyer's address, as
 * a crowd behind one NAT would.
 */
import request from 'supertest';
import {
  bodies,
  bodyOfSize,
  legitimateHolds,
  manyKeysBody,
  openMany,
  send,
  wrongPasswordSignIns,
  type Tally,
} from '../../bench/support/floods';
import { startTestApi, type TestApi } from '../support/api';
import { asBuyer, asOwnerOf, insertBuyers, signUpBuyer } from '../support/buyers';
import { confirmedHold, Dealer, seededCinema, type SeatMap } from '../support/cinema';
import { startRealServer, type RealServer } from '../support/http-server';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

const BODY_LIMIT = 64 * 1024;

let api: TestApi;
let server: RealServer;
let session: SeatMap;
let dealer: Dealer;
let buyer: string;
/** The seats the legitimate buyer holds and releases in turn. */
let buyerSeats: string[];

beforeAll(async () => {
  // The contract's default limits, not the test config's "off".
  api = await startTestApi({
    AUTH_RATE_LIMIT_PER_IP: '60',
    AUTH_RATE_LIMIT_PER_EMAIL: '10',
    LIVE_MAP_MAX_STREAMS_PER_ADDRESS: '8',
  });
  server = await startRealServer(api.app);
  ({ big: session } = await seededCinema(api.app));
  dealer = new Dealer(session.seats);
  buyer = (await insertBuyers(api.db, 1, 'Legit'))[0]!;
  buyerSeats = dealer.freshSeats(4);
});
afterAll(async () => {
  await server?.close();
  await api?.close();
});

/** The legitimate buyer's holds while `flood` runs: they must all succeed (a refusal throws). */
async function buyerHoldsDuring<T>(flood: Promise<T>): Promise<{ flood: T; holds: number }> {
  let done = false;
  const flooding = flood.finally(() => {
    done = true;
  });
  let holds = 0;
  const buying = (async () => {
    while (!done) {
      await legitimateHolds(server.baseUrl, {
        authorization: asBuyer(buyer).Authorization,
        seatIds: buyerSeats,
        rounds: 1,
      });
      holds++;
    }
  })();
  const [result] = await Promise.all([flooding, buying]);
  return { flood: result, holds };
}

const statuses = (tally: Tally) => Object.keys(tally.byStatus).map(Number);
const serverErrors = (tally: Tally) =>
  Object.entries(tally.byStatus)
    .filter(([status]) => Number(status) >= 500 && Number(status) !== 503)
    .reduce((sum, [, n]) => sum + n, 0);

describe('a sign-in flood', () => {
  it('when 20 clients sign in with a wrong password for 10 s, then all but the first few are refused with 429 before any hash, and the buyer holds seats throughout', async () => {
    await signUpBuyer(api.app, 'Victim', 'victim@example.com');
    const { flood, holds } = await buyerHoldsDuring(
      wrongPasswordSignIns(server.baseUrl, {
        parallel: 20,
        durationMs: 10_000,
        email: 'victim@example.com',
      }),
    );
    // Ten tries per email a minute (the victim's own sign-up and sign-in took two): the rest
    // never reach the password check.
    expect(flood.byStatus[401] ?? 0).toBeLessThanOrEqual(10);
    expect(flood.byStatus[429]).toBeGreaterThan(20);
    expect(statuses(flood).every((s) => [401, 429, 503].includes(s))).toBe(true);
    expect(flood.noAnswer).toBe(0);
    expect(holds).toBeGreaterThan(0);
  });
});

describe('a live-map stream flood', () => {
  it('when one address opens 2 000 streams, then 8 stay open, the rest get 503 with Retry-After, and the buyer holds seats meanwhile', async () => {
    const path = `/api/v1/sessions/${session.id}/seats/stream`;
    const { flood, holds } = await buyerHoldsDuring(
      openMany(server.baseUrl, path, 2_000, { settleMs: 30_000 }),
    );
    try {
      expect(flood.waiting).toBe(0);
      expect(flood.tally.byStatus[200]).toBe(8);
      expect(flood.tally.byStatus[503]).toBe(1_992);
      expect(flood.tally.noAnswer).toBe(0);
      expect(holds).toBeGreaterThan(0);
      const ninth = await send(server.baseUrl, 'GET', path);
      expect(ninth.status).toBe(503);
      expect(Number(ninth.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      flood.hangUpAll();
    }
  });
});

describe('oversized bodies', () => {
  it('when bodies of 64 KB + 1 and of 100 000 keys are sent 20 times each, then every one is refused with 413, and the buyer holds seats meanwhile', async () => {
    const authorization = asBuyer(buyer).Authorization;
    const { flood, holds } = await buyerHoldsDuring(
      bodies(server.baseUrl, '/api/v1/holds', [bodyOfSize(BODY_LIMIT + 1), manyKeysBody(100_000)], {
        times: 20,
        headers: { authorization },
      }),
    );
    expect(flood.byStatus).toEqual({ 413: 40 });
    expect(holds).toBeGreaterThan(0);
  });

  it('when a body just under 64 KB carries thousands of unknown keys, then the 400 lists at most 20 of them and stays small', async () => {
    const body = manyKeysBody(6_000);
    expect(body.length).toBeLessThan(BODY_LIMIT);
    const res = await request(api.app)
      .post('/api/v1/holds')
      .set(asBuyer(buyer))
      .set('content-type', 'application/json')
      .send(body.toString());
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.fields.length).toBeLessThanOrEqual(20);
    expect(JSON.stringify(res.body).length).toBeLessThan(4_096);
  });

  it('when a body of exactly 64 KB is sent, then it is parsed and judged on its content (not refused for its size)', async () => {
    const res = await request(api.app)
      .post('/api/v1/holds')
      .set(asBuyer(buyer))
      .set('content-type', 'application/json')
      .send(bodyOfSize(BODY_LIMIT).toString());
    expect(res.status).toBe(400);
  });
});

describe('a flood of long waits', () => {
  it('when one buyer opens 100 waits on an order, then 5 wait, 95 get 429 at once, hanging up frees the slots, and the buyer holds seats meanwhile', async () => {
    const [payer] = await insertBuyers(api.db, 1, 'Waiter');
    const hold = await confirmedHold(api.app, payer!, dealer.freshSeats(1));
    const paid = await request(api.app)
      .post(`/api/v1/holds/${hold.holdId}/payment`)
      .set(asOwnerOf(hold))
      .send({ method: 'pix' })
      .expect(202);
    // No payments worker runs in this file: the order stays processing, so every wait waits.
    const path = `/api/v1/orders/${paid.body.orderId}`;
    const headers = { authorization: asBuyer(payer!).Authorization, prefer: 'wait=30' };
    const { flood, holds } = await buyerHoldsDuring(
      openMany(server.baseUrl, path, 100, { headers }),
    );
    try {
      expect(flood.waiting).toBe(5);
      expect(flood.tally.byStatus).toEqual({ 429: 95 });
      expect(serverErrors(flood.tally)).toBe(0);
      expect(holds).toBeGreaterThan(0);
    } finally {
      flood.hangUpAll();
    }
    // A wait ends when its client hangs up: five waits fit again as soon as the server noticed.
    await waitFor(
      async () => {
        const again = await openMany(server.baseUrl, path, 5, { headers, settleMs: 500 });
        again.hangUpAll();
        return again.waiting === 5;
      },
      { timeoutMs: 5_000, what: 'the hung-up waits to free their slots' },
    );
  });
});
