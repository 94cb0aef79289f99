/**
 * §4.8 best available over real HTTP: POST /api/v1/holds {sessionId, quantity, together?} picks
 * and holds seats in one atomic step. Races fire every request at once over its own connection
 * against one real server, and are checked against Redis itself, with exact counts.
 */
import { randomUUID } from 'node:crypto';
import { startTestApi, type TestApi } from '../support/api';
import { asBuyer, asOwnerOf, insertBuyers } from '../support/buyers';
import { scanKeys, seededCinema, type SeatMap } from '../support/cinema';
import { clearHolds, heldInRedis } from '../support/held-seats';
import {
  fetchJson,
  startRealServer,
  type JsonAnswer,
  type RealServer,
} from '../support/http-server';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';

const MAX_SEATS_PER_HOLD = 4;
jest.setTimeout(60_000);

let redisDb: OwnRedisDb;
let api: TestApi;
let server: RealServer;
/** The seeded 10×20 session. */
let session: SeatMap;
/** Where each seat of the session is. */
let seatAt: Map<string, { row: string; number: number }>;
/** 500 signed-in buyers, handed out in order so HOLD_LIMIT only plays a part where a test wants. */
let users: string[];
let nextUser = 0;
const freshUser = () => users[nextUser++ % users.length]!;

type BestBody = { sessionId?: string; quantity?: unknown; together?: unknown; userId?: string };
const post = (userId: string, body: unknown, headers: Record<string, string> = {}) =>
  fetchJson(server.baseUrl, 'POST', '/api/v1/holds', {
    body,
    headers: { ...asBuyer(userId), ...headers },
  });
const best = (userId: string, body: BestBody = {}, headers: Record<string, string> = {}) =>
  post(userId, { sessionId: session.id, quantity: 2, ...body }, headers);

const byStatus = (answers: JsonAnswer[], status: number) =>
  answers.filter((a) => a.status === status);

/** True when the seats are one block: one row, consecutive numbers. */
function adjacentInOneRow(seatIds: string[]): boolean {
  const seats = seatIds.map((id) => seatAt.get(id)!);
  const numbers = seats.map((s) => s.number).sort((a, b) => a - b);
  return (
    new Set(seats.map((s) => s.row)).size === 1 &&
    numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1)
  );
}

/** The free seats of each row, by number, once the race is over. */
function freeByRow(held: Set<string>): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  for (const seat of session.seats) {
    if (!rows.has(seat.row)) rows.set(seat.row, []);
    if (!held.has(seat.id)) rows.get(seat.row)!.push(seat.number);
  }
  return rows;
}

/** The most consecutive numbers in an ascending list. */
function longestRun(numbers: number[]): number {
  let [run, longest] = [0, 0];
  numbers.forEach((n, i) => {
    run = i > 0 && n === numbers[i - 1]! + 1 ? run + 1 : 1;
    longest = Math.max(longest, run);
  });
  return longest;
}

/** Free seats that stand alone in their row: both neighbours taken or the row's end. */
const orphans = (held: Set<string>) =>
  [...freeByRow(held).values()].flatMap((free) =>
    free.filter((n) => !free.includes(n - 1) && !free.includes(n + 1)),
  );

beforeAll(async () => {
  redisDb = await claimRedisDb();
  api = await startTestApi({
    REDIS_DB: redisDb.db,
    MAX_SEATS_PER_HOLD: String(MAX_SEATS_PER_HOLD),
  });
  await redisDb.mark();
  server = await startRealServer(api.app);
  session = (await seededCinema(api.app)).big;
  expect(session.seats).toHaveLength(200);
  seatAt = new Map(session.seats.map((s) => [s.id, s]));
  users = await insertBuyers(api.db, 500, 'Best');
});

afterAll(async () => {
  await server?.close();
  await api?.close();
  await redisDb?.release();
});

beforeEach(async () => {
  await clearHolds(api.redis, session.id);
  server.inFlight.peak = 0;
});

describe('500 buyers ask for the best 2 seats at once', () => {
  it('when 500 requests for 2 seats hit an empty 200-seat room at once, then exactly 100 get an adjacent pair, 400 get 409, no seat is held twice and no seat is left stranded', async () => {
    const answers = await Promise.all(users.map((userId) => best(userId)));
    expect(server.inFlight.peak).toBeGreaterThanOrEqual(4);

    const winners = byStatus(answers, 201);
    const losers = byStatus(answers, 409);
    expect([winners.length, losers.length]).toEqual([100, 400]);
    for (const loser of losers) {
      expect(['NO_SEATS_TOGETHER', 'NO_SEATS_AVAILABLE']).toContain(loser.body.error.code);
      // A request is refused only once the room is full: pairs fill 20-seat rows exactly.
      expect(loser.body.error).toMatchObject({ quantity: 2, together: true, seatsAvailable: 0 });
    }

    const heldSeats = winners.flatMap((w) => w.body.seatIds as string[]);
    expect(new Set(heldSeats).size).toBe(200);
    for (const { body } of winners) {
      expect(body).toMatchObject({ sessionId: session.id, stage: 'held' });
      expect(body.seatIds).toHaveLength(2);
      expect({ seats: body.seatIds, adjacent: adjacentInOneRow(body.seatIds) }).toEqual({
        seats: body.seatIds,
        adjacent: true,
      });
    }
    expect(orphans(new Set(heldSeats))).toEqual([]);

    const { seatToHold, holds } = await heldInRedis(api.redis, session.id);
    expect([seatToHold.size, holds.size]).toEqual([200, 100]);
    for (const { body } of winners) {
      expect(holds.get(body.holdId)).toMatchObject({
        userId: body.userId,
        seatIds: body.seatIds.join(','),
        stage: 'held',
      });
    }
    // Each hold told the event stream and the live seat map, in its own atomic step.
    const events = await api.redis.xrange(`events:{${session.id}}`, '-', '+');
    const created = events.filter(([, fields]) => fields[1] === 'hold.created');
    expect(created).toHaveLength(100);
    const log = await api.redis.xrange(`seatlog:{${session.id}}`, '-', '+');
    const loggedHeld = log.flatMap(([, fields]) =>
      (JSON.parse(fields[1]!) as { changes: { id: string; status: string }[] }).changes
        .filter((c) => c.status === 'held')
        .map((c) => c.id),
    );
    expect(new Set(loggedHeld)).toEqual(new Set(heldSeats));
  });

  it('when one pair is asked of an empty room, then it gets G9-G10: row G is two thirds back, and 8 and 10 seats are left either side for pairs', async () => {
    const first = await best(freshUser());
    expect(first.status).toBe(201);
    const label = (id: string) => session.seats.find((s) => s.id === id)!.label;
    expect(first.body.seatIds.map(label)).toEqual(['G9', 'G10']);
  });
});

describe('best available racing holds by seat ids', () => {
  it('when buyers of specific seats and best-available buyers race at once, then no seat is held twice and Redis holds exactly the seats of the 201s', async () => {
    const shuffled = [...session.seats].sort(() => Math.random() - 0.5);
    // 150 buyers want 1 or 2 specific seats (some wanted twice); 250 ask for the best 1-3 seats.
    const requests = [
      ...Array.from({ length: 150 }, (_, i) => {
        const seatIds = shuffled.slice(i % 120, (i % 120) + 1 + (i % 2)).map((s) => s.id);
        return { kind: 'seats' as const, userId: freshUser(), body: { seatIds } };
      }),
      ...Array.from({ length: 250 }, (_, i) => ({
        kind: 'best' as const,
        userId: freshUser(),
        body: { sessionId: session.id, quantity: 1 + (i % 3), together: i % 5 !== 0 },
      })),
    ].sort(() => Math.random() - 0.5);

    const answers = await Promise.all(requests.map((r) => post(r.userId, r.body)));
    expect(server.inFlight.peak).toBeGreaterThanOrEqual(4);

    const winners = answers.filter((a) => a.status === 201);
    const heldSeats = winners.flatMap((w) => w.body.seatIds as string[]);
    expect(new Set(heldSeats).size).toBe(heldSeats.length);
    const held = new Set(heldSeats);

    answers.forEach((answer, i) => {
      const { kind, body } = requests[i]!;
      if (answer.status === 201) {
        if (kind === 'seats') expect(answer.body.seatIds).toEqual(body.seatIds);
        else {
          const { quantity, together } = body as { quantity: number; together: boolean };
          expect(answer.body.seatIds).toHaveLength(quantity);
          if (together) expect(adjacentInOneRow(answer.body.seatIds)).toBe(true);
        }
        return;
      }
      expect(answer.status).toBe(409);
      const { code } = answer.body.error;
      if (kind === 'seats') {
        expect(code).toBe('SEAT_UNAVAILABLE');
        return;
      }
      // Seats are only taken during the race, never freed: what was missing then still is.
      const { quantity, together } = body as { quantity: number; together: boolean };
      if (together) {
        expect(code).toBe('NO_SEATS_TOGETHER');
        for (const free of freeByRow(held).values()) {
          expect(longestRun(free)).toBeLessThan(quantity);
        }
      } else {
        expect(code).toBe('NO_SEATS_AVAILABLE');
        expect(session.seats.length - held.size).toBeLessThan(quantity);
      }
    });

    const { seatToHold, holds } = await heldInRedis(api.redis, session.id);
    expect(seatToHold.size).toBe(heldSeats.length);
    expect(holds.size).toBe(winners.length);
    for (const { body } of winners) {
      for (const seatId of body.seatIds) expect(seatToHold.get(seatId)).toBe(body.holdId);
    }
  });
});

describe('validation of the best-available form', () => {
  const someSeat = () => session.seats[199]!.id;
  it.each<[string, () => unknown, string[]]>([
    [
      'both forms at once',
      () => ({ seatIds: [someSeat()], sessionId: session.id, quantity: 2 }),
      ['body.sessionId', 'body.quantity'],
    ],
    ['neither form', () => ({}), ['body.sessionId', 'body.quantity']],
    ['a session without a quantity', () => ({ sessionId: session.id }), ['body.quantity']],
    ['a quantity without a session', () => ({ quantity: 2 }), ['body.sessionId']],
    ['quantity 0', () => ({ sessionId: session.id, quantity: 0 }), ['body.quantity']],
    [
      'quantity over MAX_SEATS_PER_HOLD',
      () => ({ sessionId: session.id, quantity: MAX_SEATS_PER_HOLD + 1 }),
      ['body.quantity'],
    ],
    ['a fractional quantity', () => ({ sessionId: session.id, quantity: 1.5 }), ['body.quantity']],
    [
      'a quantity given as text',
      () => ({ sessionId: session.id, quantity: '2' }),
      ['body.quantity'],
    ],
    [
      'together not a boolean',
      () => ({ sessionId: session.id, quantity: 2, together: 'yes' }),
      ['body.together'],
    ],
    [
      'together given as text',
      () => ({ sessionId: session.id, quantity: 2, together: 'true' }),
      ['body.together'],
    ],
    [
      'a session id that is not a UUID',
      () => ({ sessionId: 'sala-1', quantity: 2 }),
      ['body.sessionId'],
    ],
    [
      'together with seat ids',
      () => ({ seatIds: [someSeat()], together: false }),
      ['body.together'],
    ],
    ['an unknown field', () => ({ sessionId: session.id, quantity: 2, row: 'G' }), ['body.row']],
  ])(
    'when the body has %s, then it is 400 VALIDATION_FAILED naming the fields, and nothing is held',
    async (_what, body, fields) => {
      const answer = await post(freshUser(), body());
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('VALIDATION_FAILED');
      expect(answer.body.error.fields.map((f: { field: string }) => f.field)).toEqual(fields);
      expect(await scanKeys(api.redis, `seat:{${session.id}}:*`)).toEqual([]);
    },
  );

  it('when the session does not exist, then it is 404 SESSION_NOT_FOUND', async () => {
    const answer = await best(freshUser(), { sessionId: randomUUID() });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('SESSION_NOT_FOUND');
  });

  it("when userId is another buyer's, then it is 403 and nothing is held", async () => {
    const caller = freshUser();
    const answer = await best(caller, { userId: users.find((u) => u !== caller) });
    expect(answer.status).toBe(403);
    expect(await scanKeys(api.redis, `seat:{${session.id}}:*`)).toEqual([]);
  });

  it('when the body is valid, then the OpenAPI document offers both forms of the body', async () => {
    const doc = (await fetchJson(server.baseUrl, 'GET', '/api-docs.json')).body;
    const schema = doc.paths['/api/v1/holds'].post.requestBody.content['application/json'].schema;
    const forms = schema.anyOf as { required: string[]; properties: Record<string, unknown> }[];
    expect(forms.map((f) => f.required)).toEqual([['seatIds'], ['sessionId', 'quantity']]);
    expect(forms[1]!.properties.quantity).toMatchObject({
      minimum: 1,
      maximum: MAX_SEATS_PER_HOLD,
    });
    expect(forms[1]!.properties.together).toMatchObject({ type: 'boolean', default: true });
  });
});

describe('best available with an Idempotency-Key', () => {
  it('when a request is retried with the same key, then the retry replays the first hold: same seats, same token, one hold', async () => {
    const userId = freshUser();
    const key = randomUUID();
    const first = await best(userId, { quantity: 3 }, { 'Idempotency-Key': key });
    const retry = await best(userId, { quantity: 3 }, { 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toEqual(first.body);
    expect((await heldInRedis(api.redis, session.id)).holds.size).toBe(1);

    const other = await best(userId, { quantity: 1 }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('when the API died after the script held the seats, before answering, then the retry with the same key gets that hold and its token, not other seats', async () => {
    const userId = freshUser();
    const key = randomUUID();
    const lost = await best(userId, { quantity: 2, together: false }, { 'Idempotency-Key': key });
    expect(lost.status).toBe(201);
    // Its process died right after the script: no stored answer, no session pointer, no job.
    for (const record of await scanKeys(api.redis, 'idem:*')) await api.redis.del(record);
    await api.redis.del(`hold-session:${lost.body.holdId}`);
    await api.queues.expiry.remove(`expire-held-${lost.body.holdId}`);

    const retry = await best(userId, { quantity: 2, together: false }, { 'Idempotency-Key': key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.body).toEqual(lost.body);
    const { seatToHold, holds } = await heldInRedis(api.redis, session.id);
    expect([seatToHold.size, holds.size]).toEqual([2, 1]);
    expect(await api.redis.get(`hold-session:${lost.body.holdId}`)).toBe(session.id);
    const jobs = await api.queues.expiry.getDelayed();
    expect(jobs.filter((job) => job.data.holdId === lost.body.holdId)).toHaveLength(1);
    // The hold works: its owner confirms it with the replayed token.
    const confirmed = await fetchJson(
      server.baseUrl,
      'POST',
      `/api/v1/holds/${retry.body.holdId}/confirm`,
      { headers: asOwnerOf(retry.body) },
    );
    expect(confirmed.status).toBe(200);
  });

  it('when the same buyer sends the same body under a new key, then it is a new hold of other seats', async () => {
    const userId = freshUser();
    const a = await best(userId, { quantity: 1 }, { 'Idempotency-Key': randomUUID() });
    const b = await best(userId, { quantity: 1 }, { 'Idempotency-Key': randomUUID() });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.body.holdId).not.toBe(a.body.holdId);
    expect(b.body.seatIds).not.toEqual(a.body.seatIds);
  });
});

describe('best available and the hold limit', () => {
  it('when a buyer would hold more than MAX_SEATS_PER_HOLD seats of the session, then it is 429 HOLD_LIMIT and nothing more is held', async () => {
    const userId = freshUser();
    const bySeats = await post(userId, { seatIds: [session.seats[0]!.id, session.seats[1]!.id] });
    expect(bySeats.status).toBe(201);

    const over = await best(userId, { quantity: 3 });
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({
      code: 'HOLD_LIMIT',
      limit: MAX_SEATS_PER_HOLD,
      alreadyHeld: 2,
    });
    expect((await heldInRedis(api.redis, session.id)).seatToHold.size).toBe(2);

    const upTo = await best(userId, { quantity: 2, together: false });
    expect(upTo.status).toBe(201);
    const more = await best(userId, { quantity: 1 });
    expect(more.status).toBe(429);
    expect(more.body.error).toMatchObject({ code: 'HOLD_LIMIT', alreadyHeld: 4 });
  });
});

describe('the session layout in Redis', () => {
  it('when the first best-available request of a session comes, then the layout is written once, lasting past the session start', async () => {
    // beforeEach cleared holds, not the layout: remove it to see the first request write it.
    await api.redis.del(`layout:{${session.id}}`);
    const answer = await best(freshUser(), { quantity: 1 });
    expect(answer.status).toBe(201);
    const layout = await api.redis.hgetall(`layout:{${session.id}}`);
    expect(layout.rows).toBe('10');
    expect(layout.slot).toBe('36');
    expect(layout['7']).toBe(
      session.seats
        .filter((s) => s.row === 'G')
        .map((s) => s.id)
        .join(''),
    );
    const expiresAt = await api.redis.pexpiretime(`layout:{${session.id}}`);
    const { startsAt } = (await fetchJson(server.baseUrl, 'GET', `/api/v1/sessions/${session.id}`))
      .body;
    expect(expiresAt).toBe(Date.parse(startsAt) + 24 * 60 * 60 * 1000);
  });
});
