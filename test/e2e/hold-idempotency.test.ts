/**
 * §6 idempotency of POST /api/v1/holds: a retry with the same Idempotency-Key returns the first
 * answer and has one effect; the same key with another body is refused. Requests go to one real
 * HTTP server, so concurrent retries are really concurrent.
 */
import { randomUUID } from 'node:crypto';
import {
  fetchJson,
  startRealServer,
  type JsonAnswer,
  type RealServer,
} from '../support/http-server';
import { startTestApi, type TestApi } from '../support/api';
import { asBuyer, asOwnerOf, insertBuyers } from '../support/buyers';
import { Dealer, scanKeys, seededCinema } from '../support/cinema';

/** fetchJson's answer, with whether the API says it replayed a stored one. */
type Answer = Omit<JsonAnswer, 'headers'> & { replayed: string | null };

let api: TestApi;
let server: RealServer;
let baseUrl: string;
let sessionId: string;
/** Hands out seats no other test in this file has used. */
let dealer: Dealer;
let users: string[];
/** Requests the server is working on right now, and the most it has seen at once since reset. */
let inFlight: RealServer['inFlight'];

async function call(
  method: string,
  path: string,
  request: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const { headers, ...answer } = await fetchJson(baseUrl, method, path, request);
  return { ...answer, replayed: headers.get('idempotent-replayed') };
}

const hold = (body: { userId: string; seatIds: string[] }, key?: string) =>
  call('POST', '/api/v1/holds', {
    body,
    headers: { ...asBuyer(body.userId), ...(key ? { 'Idempotency-Key': key } : {}) },
  });

let nextUser = 0;
/** A user no other test has used, so HOLD_LIMIT never plays a part. */
const freshUser = () => users[nextUser++]!;

/** The effects a hold leaves: hold records in Redis and delayed expiry jobs in BullMQ. */
async function effects() {
  return {
    holds: (await scanKeys(api.redis, `hold:{${sessionId}}:*`)).length,
    expiryJobs: await api.queues.expiry.getDelayedCount(),
  };
}

const seatOwner = (seatId: string) => api.redis.get(`seat:{${sessionId}}:${seatId}`);

beforeAll(async () => {
  api = await startTestApi({ MAX_SEATS_PER_HOLD: '4' });
  server = await startRealServer(api.app);
  baseUrl = server.baseUrl;
  inFlight = server.inFlight;
  users = await insertBuyers(api.db, 20, 'Retrier');
  const { big } = await seededCinema(api.app);
  sessionId = big.id;
  dealer = new Dealer(big.seats);
});

afterAll(async () => {
  await server.close();
  await api.close();
});

describe('POST /api/v1/holds with an Idempotency-Key', () => {
  it('when a request is retried with the same key and body, then the retry gets the same status and body, marked replayed, and there is one hold and one expiry job', async () => {
    const key = randomUUID();
    const body = { userId: freshUser(), seatIds: dealer.freshSeats(2) };
    const before = await effects();

    const first = await hold(body, key);
    const retry = await hold(body, key);

    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.body.holdToken).toBe(first.body.holdToken);
    expect(retry.replayed).toBe('true');
    expect(await effects()).toEqual({ holds: before.holds + 1, expiryJobs: before.expiryJobs + 1 });
    const jobs = await api.queues.expiry.getDelayed();
    expect(jobs.filter((job) => job.data.holdId === first.body.holdId)).toHaveLength(1);
    expect(await seatOwner(body.seatIds[0]!)).toBe(first.body.holdId);
  });

  it('when the body keys come in another order, then it is the same request and is replayed', async () => {
    const key = randomUUID();
    const userId = freshUser();
    const seatIds = dealer.freshSeats(1);
    const first = await hold({ userId, seatIds }, key);
    const retry = await call('POST', '/api/v1/holds', {
      body: { seatIds, userId },
      headers: { ...asBuyer(userId), 'Idempotency-Key': key },
    });
    expect(first.status).toBe(201);
    expect(retry).toEqual({ ...first, replayed: 'true' });
  });

  it('when the same key comes with a different body, then it answers 422 IDEMPOTENCY_KEY_REUSED and holds nothing new', async () => {
    const key = randomUUID();
    const userId = freshUser();
    const first = await hold({ userId, seatIds: dealer.freshSeats(1) }, key);
    expect(first.status).toBe(201);
    const before = await effects();

    const otherSeats = dealer.freshSeats(2);
    const reused = await hold({ userId, seatIds: otherSeats }, key);

    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(reused.replayed).toBeNull();
    expect(await effects()).toEqual(before);
    expect(await seatOwner(otherSeats[0]!)).toBeNull();
    expect(await seatOwner(otherSeats[1]!)).toBeNull();
  });

  it('when two requests with the same key arrive at the same time, then both get the same answer and exactly one hold exists', async () => {
    const key = randomUUID();
    const body = { userId: freshUser(), seatIds: dealer.freshSeats(2) };
    const before = await effects();

    inFlight.peak = 0;
    const answers = await Promise.all([hold(body, key), hold(body, key), hold(body, key)]);

    expect(inFlight.peak).toBeGreaterThan(1);
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(answers[1]!.body).toEqual(answers[0]!.body);
    expect(answers[2]!.body).toEqual(answers[0]!.body);
    // One of them ran; the others waited for its answer and replayed it.
    expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
    expect(answers.filter((a) => a.replayed === 'true')).toHaveLength(2);
    expect(await effects()).toEqual({ holds: before.holds + 1, expiryJobs: before.expiryJobs + 1 });
    expect(await seatOwner(body.seatIds[0]!)).toBe(answers[0]!.body.holdId);
    expect(await seatOwner(body.seatIds[1]!)).toBe(answers[0]!.body.holdId);
  });

  it('when two requests with the same key but different bodies arrive at the same time, then one is served, the other gets 422, and only the served one holds', async () => {
    const key = randomUUID();
    const userId = freshUser();
    const [seatsA, seatsB] = [dealer.freshSeats(1), dealer.freshSeats(1)];
    const before = await effects();

    const answers = await Promise.all([
      hold({ userId, seatIds: seatsA }, key),
      hold({ userId, seatIds: seatsB }, key),
    ]);

    expect(answers.map((a) => a.status).sort()).toEqual([201, 422]);
    const served = answers.find((a) => a.status === 201)!;
    const refused = answers.find((a) => a.status === 422)!;
    expect(refused.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await effects()).toEqual({ holds: before.holds + 1, expiryJobs: before.expiryJobs + 1 });
    const refusedSeat = served.body.seatIds[0] === seatsA[0] ? seatsB[0]! : seatsA[0]!;
    expect(await seatOwner(refusedSeat)).toBeNull();
    expect(await seatOwner(served.body.seatIds[0])).toBe(served.body.holdId);
  });

  it('when the first answer was 409 (seat taken), then a retry replays that 409 even after the seat frees', async () => {
    const [seat] = dealer.freshSeats(1);
    const holder = (await hold({ userId: freshUser(), seatIds: [seat!] })).body;
    expect(holder.holdId).toBeDefined();
    const key = randomUUID();
    const body = { userId: freshUser(), seatIds: [seat!] };

    const first = await hold(body, key);
    expect(first.status).toBe(409);
    expect(first.body.error).toMatchObject({ code: 'SEAT_UNAVAILABLE', seatIds: [seat] });

    const released = await call('DELETE', `/api/v1/holds/${holder.holdId}`, {
      headers: asOwnerOf(holder),
    });
    expect(released.status).toBe(204);
    expect(await seatOwner(seat!)).toBeNull();

    const retry = await hold(body, key);
    expect(retry).toEqual({ ...first, replayed: 'true' });
    expect(await seatOwner(seat!)).toBeNull();
    // The seat really is free: the same request under a new key takes it.
    const fresh = await hold(body, randomUUID());
    expect(fresh.status).toBe(201);
  });

  it('when an answer is stored for replay, then Redis does not hold its hold token (or the key) in clear text', async () => {
    const key = `retry-me-${randomUUID()}`;
    const created = await hold({ userId: freshUser(), seatIds: dealer.freshSeats(1) }, key);
    expect(created.status).toBe(201);

    const idemKeys = await scanKeys(api.redis, 'idem:*');
    expect(idemKeys.length).toBeGreaterThan(0);
    const stored = (await Promise.all(idemKeys.map((k) => api.redis.get(k)))).join('\n');
    for (const k of idemKeys) expect(k).not.toContain(key);
    expect(stored).not.toContain(created.body.holdToken);
    expect(stored).not.toContain(Buffer.from(created.body.holdToken).toString('base64'));
    expect(stored).not.toContain(key);
    // …and yet the replay still shows it to the client that holds the key.
    const retry = await hold({ userId: created.body.userId, seatIds: created.body.seatIds }, key);
    expect(retry.body.holdToken).toBe(created.body.holdToken);
  });

  it('when requests use different keys, then each is handled on its own: two holds, or a real 409, never a replay', async () => {
    const userId = freshUser();
    const a = await hold({ userId, seatIds: dealer.freshSeats(1) }, randomUUID());
    const b = await hold({ userId, seatIds: dealer.freshSeats(1) }, randomUUID());
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.holdId).not.toBe(a.body.holdId);
    expect(b.replayed).toBeNull();

    const sameBody = { userId: freshUser(), seatIds: dealer.freshSeats(1) };
    const first = await hold(sameBody, randomUUID());
    const second = await hold(sameBody, randomUUID());
    expect(first.status).toBe(201);
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('SEAT_UNAVAILABLE');
    expect(second.replayed).toBeNull();
  });

  it('when requests carry no Idempotency-Key, then they are not deduplicated', async () => {
    const body = { userId: freshUser(), seatIds: dealer.freshSeats(1) };
    const before = await effects();
    const first = await hold(body);
    const second = await hold(body);
    expect(first.status).toBe(201);
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'SEAT_UNAVAILABLE', seatIds: body.seatIds });
    expect(second.replayed).toBeNull();
    expect(await effects()).toEqual({ holds: before.holds + 1, expiryJobs: before.expiryJobs + 1 });
  });

  it('when the API dies right after holding the seats, before answering, then the retry with the same key gets that hold and its token, not SEAT_UNAVAILABLE, and it works', async () => {
    const key = randomUUID();
    const body = { userId: freshUser(), seatIds: dealer.freshSeats(2) };
    const before = await effects();
    const lost = await hold(body, key);
    expect(lost.status).toBe(201);
    // Its process died right after the hold script: no stored answer, no session pointer, no
    // cleanup job (and its idempotency lease would have run out on its own).
    for (const record of await scanKeys(api.redis, 'idem:*')) await api.redis.del(record);
    await api.redis.del(`hold-session:${lost.body.holdId}`);
    await api.queues.expiry.remove(`expire-held-${lost.body.holdId}`);

    const retry = await hold(body, key);
    expect(retry.status).toBe(201);
    expect(retry.replayed).toBeNull();
    expect(retry.body).toMatchObject({
      holdId: lost.body.holdId,
      holdToken: lost.body.holdToken,
      seatIds: body.seatIds,
      stage: 'held',
      expiresAt: lost.body.expiresAt,
    });
    expect(await effects()).toEqual({ holds: before.holds + 1, expiryJobs: before.expiryJobs + 1 });
    const confirmed = await call('POST', `/api/v1/holds/${retry.body.holdId}/confirm`, {
      headers: asOwnerOf(retry.body),
    });
    expect(confirmed.status).toBe(200);
    // The token is kept only sealed under the key, which only the client has: never readable.
    const record = await api.redis.hgetall(`hold:{${sessionId}}:${lost.body.holdId}`);
    expect(JSON.stringify(record)).not.toContain(lost.body.holdToken);
  });
});
