/**
 * The best-available choice is defined once, by the pure function shared/holds/best-seats.ts;
 * scripts/hold-best-seats.lua makes it again inside Redis (reading rows nearest the best one
 * first and stopping early, keeping each row's best between picks). These tests set up random
 * rooms and seat states in a real Redis, run the script, and check it chose exactly what the
 * pure function chooses for the same state. Random, but seeded: a failure names its seed.
 */
import { randomUUID } from 'node:crypto';
import type { SeatRow } from '../../shared/catalogue/seat-layout';
import { bestSeats } from '../../shared/holds/best-seats';
import { layoutFields, pickAndHold } from '../../shared/holds/hold-best-seats';
import { newHold } from '../../shared/holds/hold-seats';
import { seatKey, sessionLayoutKey } from '../../shared/holds/keys';
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
async function runScript(sessionId: string, quantity: number, together: boolean) {
  const hold = newHold(randomUUID(), sessionId, 'equivalence');
  const [status, ...rest] = await pickAndHold(ctx, hold, quantity, together);
  return status === 'OK'
    ? { seats: rest.slice(1).map(String) }
    : { status, seatsAvailable: Number(rest[0]) };
}

/** What the script must have answered, from the pure function. */
function expected(rows: SeatRow[], taken: Set<string>, quantity: number, together: boolean) {
  const seats = bestSeats(rows, taken, quantity, together);
  if (seats) return { seats };
  return {
    status: together ? 'NO_SEATS_TOGETHER' : 'NO_SEATS_AVAILABLE',
    seatsAvailable: rows.flat().filter((id) => id !== null && !taken.has(id)).length,
  };
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
      const answer = await runScript(sessionId, quantity, together);
      expect({ seed, ...answer }).toEqual({
        seed,
        ...expected(rows, taken, quantity, together),
      });
    }
  });

  it('when rooms fill up request by request, then each pick matches, until nothing fits', async () => {
    for (let seed = 1001; seed <= 1030; seed++) {
      const random = generator(seed);
      const rows = randomRoom(random, random.int(3, 10), random.int(8, 20));
      const sessionId = randomUUID();
      const taken = await setUp(sessionId, rows, random, random.next() * 0.3);
      for (let request = 0; ; request++) {
        const quantity = random.int(1, 4);
        const together = random.next() < 0.7;
        const answer = await runScript(sessionId, quantity, together);
        expect({ seed, request, ...answer }).toEqual({
          seed,
          request,
          ...expected(rows, taken, quantity, together),
        });
        if (!answer.seats) break;
        for (const id of answer.seats) taken.add(id);
      }
    }
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
      expect({ seed, ...(await runScript(sessionId, quantity, together)) }).toEqual({
        seed,
        ...expected(rows, taken, quantity, together),
      });
    }
  });

  it('when the layout is not in Redis, then the script answers NO_LAYOUT and holds nothing', async () => {
    const sessionId = randomUUID();
    const hold = newHold(randomUUID(), sessionId, 'no-layout');
    expect(await pickAndHold(ctx, hold, 2, true)).toEqual(['NO_LAYOUT']);
    expect(await redis.exists(`hold:{${sessionId}}:${hold.holdId}`)).toBe(0);
  });
});
