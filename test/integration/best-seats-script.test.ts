/**
 * The best-available choice is defined once, by the pure function shared/holds/best-seats.ts;
 * scripts/hold-best-seats.lua makes it again inside Redis (from the session's occupancy, scoring
 * rows lowest bound first and only the starts of a run that can be its best). These tests set up
 * random rooms and seat states in a real Redis, run the script, and check it chose exactly what
 * the pure function chooses for the same state. Random, but seeded: a failure names its seed.
 * Then the occupancy itself: every way a seat is freed frees it there, and a seat taken behind
 * its back is never handed out.
 */
import { randomUUID } from 'node:crypto';
import type { SeatRow } from '../../shared/catalogue/seat-layout';
import { bestSeats } from '../../shared/holds/best-seats';
import { layoutFields, pickAndHold } from '../../shared/holds/hold-best-seats';
import { newHold } from '../../shared/holds/hold-seats';
import {
  eventsKey,
  holdKey,
  seatKey,
  seatOccupancyKey,
  sessionLayoutKey,
} from '../../shared/holds/keys';
import { holdScripts } from '../../shared/holds/scripts';
import { createRedis, type RedisClient } from '../../shared/redis';
import { testConfig } from '../support/config';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';

let redisDb: OwnRedisDb;
let redis: RedisClient;
/** What the script needs of a hold context: its scripts and the hold settings. */
let ctx: Parameters<typeof pickAndHold>[0];

beforeAll(async () => {
  redisDb = await claimRedisDb();
  redis = createRedis(testConfig({ REDIS_DB: redisDb.db }), { maxRetriesPerRequest: 1 });
  ctx = {
    scripts: holdScripts(redis),
    // No per-user limit in the way: every run is a new user anyway.
    settings: { ttlSeconds: 60, confirmedTtlSeconds: 600, maxSeatsPerHold: 50 },
  };
});
afterAll(async () => {
  await redis.flushdb();
  await redis.quit();
  await redisDb.release();
});

/** mulberry32: a small seeded generator, so a failing case can be run again. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)) };
}
type Random = ReturnType<typeof generator>;

/**
 * A random room: `rows` rows of up to `width` columns, some shorter or indented, some with
 * aisles (columns without a seat) — shapes today's rooms do not have, which the script must
 * still handle as the pure function does.
 */
function randomRoom(random: Random, rows: number, width: number): SeatRow[] {
  const aisles = new Set(
    Array.from({ length: random.int(0, 2) }, () => random.int(1, Math.max(1, width - 2))),
  );
  return Array.from({ length: rows }, () => {
    const indent = random.next() < 0.2 ? random.int(1, 3) : 0;
    const length = random.next() < 0.2 ? random.int(1, width) : width;
    return Array.from({ length }, (_, x) => (x < indent || aisles.has(x) ? null : randomUUID()));
  });
}

/** Writes the room's layout and takes a random share of its seats (held or sold). */
async function setUp(sessionId: string, rows: SeatRow[], random: Random, share: number) {
  const taken = new Set<string>();
  const pipeline = redis.pipeline();
  pipeline.hset(sessionLayoutKey(sessionId), layoutFields(rows));
  for (const id of rows.flat()) {
    if (id === null || random.next() >= share) continue;
    taken.add(id);
    if (random.next() < 0.5) pipeline.set(seatKey(sessionId, id), `sold:${randomUUID()}`);
    else pipeline.set(seatKey(sessionId, id), randomUUID(), 'PX', 60_000);
  }
  await pipeline.exec();
  return taken;
}

/** Runs the script for a new user; its seats, or its refusal and the free count it reported. */
async function runScript(
  sessionId: string,
  quantity: number,
  together: boolean,
  context: typeof ctx = ctx,
) {
  const hold = newHold(randomUUID(), sessionId, 'equivalence');
  const [status, ...rest] = await pickAndHold(context, hold, quantity, together);
  return status === 'OK'
    ? { seats: rest.slice(1).map(String), hold }
    : { status, seatsAvailable: Number(rest[0]) };
}

/** The script's answer without the hold it made, to compare with the pure function's. */
const choiceOf = async (answer: ReturnType<typeof runScript>) => {
  const { hold: _hold, ...choice } = await answer;
  return choice;
};

/** What the script must have answered, from the pure function. */
function expected(rows: SeatRow[], taken: Set<string>, quantity: number, together: boolean) {
  const seats = bestSeats(rows, taken, quantity, together);
  if (seats) return { seats };
  return {
    status: together ? 'NO_SEATS_TOGETHER' : 'NO_SEATS_AVAILABLE',
    seatsAvailable: rows.flat().filter((id) => id !== null && !taken.has(id)).length,
  };
}

/**
 * Fills a room request by request (random quantities, together or not) until a request finds
 * nothing, checking each pick against the pure function.
 */
async function expectEveryPickToMatchUntilFull(
  seeds: [number, number],
  shape: { rows: [number, number]; width: [number, number]; share: number; together: number },
  quantity: [number, number],
) {
  for (let seed = seeds[0]; seed <= seeds[1]; seed++) {
    const random = generator(seed);
    const rows = randomRoom(random, random.int(...shape.rows), random.int(...shape.width));
    const sessionId = randomUUID();
    const taken = await setUp(sessionId, rows, random, random.next() * shape.share);
    for (let request = 0; ; request++) {
      const wanted = random.int(...quantity);
      const together = random.next() < shape.together;
      const answer = await choiceOf(runScript(sessionId, wanted, together));
      expect({ seed, request, ...answer }).toEqual({
        seed,
        request,
        ...expected(rows, taken, wanted, together),
      });
      if (!answer.seats) break;
      for (const id of answer.seats) taken.add(id);
    }
  }
}

describe('hold-best-seats.lua chooses what bestSeats chooses', () => {
  it('when rooms of every shape are in random states, then for any quantity, together or apart, the script picks the same seats (or refuses alike)', async () => {
    for (let seed = 1; seed <= 600; seed++) {
      const random = generator(seed);
      const rows = randomRoom(random, random.int(1, 12), random.int(1, 24));
      const sessionId = randomUUID();
      const taken = await setUp(sessionId, rows, random, random.next());
      const quantity = random.int(1, 6);
      const together = random.next() < 0.6;
      const answer = await choiceOf(runScript(sessionId, quantity, together));
      expect({ seed, ...answer }).toEqual({
        seed,
        ...expected(rows, taken, quantity, together),
      });
    }
  });

  it('when rooms fill up request by request, then each pick matches, until nothing fits', async () => {
    await expectEveryPickToMatchUntilFull(
      [1001, 1030],
      { rows: [3, 10], width: [8, 20], share: 0.3, together: 0.7 },
      [1, 4],
    );
  });

  it('when the room is the largest allowed (50×50), then the choice still matches', async () => {
    for (let seed = 2001; seed <= 2030; seed++) {
      const random = generator(seed);
      const rows = randomRoom(random, 50, 50);
      const sessionId = randomUUID();
      // Half of them mostly full, so the script reads most rows; half with room to spare.
      const share = seed % 2 === 0 ? 0.6 + random.next() * 0.4 : random.next() * 0.6;
      const taken = await setUp(sessionId, rows, random, share);
      const quantity = random.int(1, 10);
      const together = random.next() < 0.5;
      expect({ seed, ...(await choiceOf(runScript(sessionId, quantity, together))) }).toEqual({
        seed,
        ...expected(rows, taken, quantity, together),
      });
    }
  });

  it('when rows are wide (up to 200 seats), so only some starts of a long free run are scored, then the choice still matches', async () => {
    for (let seed = 3001; seed <= 3200; seed++) {
      const random = generator(seed);
      const rows = randomRoom(random, random.int(1, 8), random.int(40, 200));
      const sessionId = randomUUID();
      const taken = await setUp(sessionId, rows, random, random.next() * random.next());
      const quantity = random.int(1, 5);
      const together = random.next() < 0.7;
      expect({ seed, ...(await choiceOf(runScript(sessionId, quantity, together))) }).toEqual({
        seed,
        ...expected(rows, taken, quantity, together),
      });
    }
  });

  it('when a wide room fills up request by request, then each pick matches, until nothing fits', async () => {
    await expectEveryPickToMatchUntilFull(
      [4001, 4004],
      { rows: [4, 8], width: [60, 120], share: 0.1, together: 0.8 },
      [1, 3],
    );
  });

  it('when the layout is not in Redis, then the script answers NO_LAYOUT and holds nothing', async () => {
    const sessionId = randomUUID();
    const hold = newHold(randomUUID(), sessionId, 'no-layout');
    expect(await pickAndHold(ctx, hold, 2, true)).toEqual(['NO_LAYOUT']);
    expect(await redis.exists(`hold:{${sessionId}}:${hold.holdId}`)).toBe(0);
  });
});

describe('the occupancy best available reads', () => {
  const room = (): SeatRow[] =>
    Array.from({ length: 4 }, () => Array.from({ length: 10 }, () => randomUUID()));

  /** A session whose occupancy is built, with `quantity` best seats held by one request. */
  async function sessionWithAHold(quantity: number, context: typeof ctx = ctx) {
    const rows = room();
    const sessionId = randomUUID();
    await redis.hset(sessionLayoutKey(sessionId), layoutFields(rows));
    const first = await runScript(sessionId, quantity, true, context);
    if (!first.hold) throw new Error(`no hold: ${JSON.stringify(first)}`);
    expect(await redis.exists(seatOccupancyKey(sessionId))).toBe(1);
    return { rows, sessionId, hold: first.hold, seats: first.seats };
  }

  it('when the best seats are held and released, then the next request gets those same seats', async () => {
    const { sessionId, hold, seats } = await sessionWithAHold(2);
    expect((await runScript(sessionId, 2, true)).seats).not.toEqual(seats);
    const released = await ctx.scripts.endHold(
      [holdKey(sessionId, hold.holdId), eventsKey(sessionId)],
      [hold.holdId, 'release', 'user', hold.userId],
    );
    expect(released).toEqual(['OK', 'released']);
    expect((await runScript(sessionId, 2, true)).seats).toEqual(seats);
  });

  it('when the best seats expire and their cleanup runs, then the next request gets those same seats', async () => {
    const shortHolds = { ...ctx, settings: { ...ctx.settings, ttlSeconds: 0.05 } };
    const { sessionId, hold, seats } = await sessionWithAHold(3, shortHolds);
    const holdRecord = holdKey(sessionId, hold.holdId);
    const expiresAt = Number(await redis.hget(holdRecord, 'expiresAt'));
    const deadline = Date.now() + 5_000;
    let reply: unknown[] = [];
    while (Date.now() < deadline) {
      reply = await ctx.scripts.endHold(
        [holdRecord, eventsKey(sessionId)],
        [hold.holdId, 'expire', 'held', expiresAt],
      );
      if (reply[0] !== 'NOT_DUE') break;
    }
    expect(reply).toEqual(['OK', 'expired']);
    expect((await runScript(sessionId, 3, true)).seats).toEqual(seats);
  });

  it('when sold seats are refunded, then the next request gets those seats', async () => {
    const { sessionId, seats } = await sessionWithAHold(2);
    const orderId = randomUUID();
    // As settle-hold leaves a paid hold's seats; release-sold-seats is the refund's step.
    for (const id of seats!) await redis.set(seatKey(sessionId, id), `sold:${orderId}`);
    const refunded = await ctx.scripts.releaseSoldSeats(
      [eventsKey(sessionId), ...seats!.map((id) => seatKey(sessionId, id))],
      [orderId, sessionId, ...seats!],
    );
    expect(refunded).toEqual(['OK', 2]);
    expect((await runScript(sessionId, 2, true)).seats).toEqual(seats);
  });

  it('when a seat is taken behind its back (a restore of sold seats), then that seat is never handed out, and is marked taken', async () => {
    const rows = room();
    const sessionId = randomUUID();
    await redis.hset(sessionLayoutKey(sessionId), layoutFields(rows));
    const taken = new Set((await runScript(sessionId, 1, true)).seats);
    // The seat the next request would get, sold by a write that is not a hold script.
    const next = bestSeats(rows, taken, 1, true)![0]!;
    await redis.set(seatKey(sessionId, next), `sold:${randomUUID()}`);
    taken.add(next);

    const answer = await choiceOf(runScript(sessionId, 1, true));
    expect(answer).toEqual(expected(rows, taken, 1, true));
    const occupancy = (await redis.get(seatOccupancyKey(sessionId)))!;
    expect(occupancy[Number(await redis.hget(sessionLayoutKey(sessionId), `@${next}`))]).toBe('1');
  });
});
