/**
 * §6 races, proven with real concurrent HTTP requests: one HTTP server for the app, and every
 * request of a race fired at once over its own connection (Node's fetch, Promise.all). Each
 * race is then checked against Redis itself, with exact counts.
 */
import {
  fetchJson,
  startRealServer,
  type JsonAnswer,
  type RealServer,
} from '../support/http-server';
import { startTestApi, type TestApi } from '../support/api';
import { asBuyer, insertBuyers } from '../support/buyers';
import { scanKeys, seededCinema } from '../support/cinema';
import {
  clearHolds as clearSessionHolds,
  heldInRedis as heldInSession,
} from '../support/held-seats';

type Answer = JsonAnswer;

let api: TestApi;
let server: RealServer;
let baseUrl: string;
let sessionId: string;
let seats: string[];
/** 500 signed-in buyers of this file, so the per-user HOLD_LIMIT never plays a part. */
let users: string[];
/** Requests the server is working on right now, and the most it has seen at once since reset. */
let inFlight: RealServer['inFlight'];

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetchJson(baseUrl, method, path, { body, headers });

const hold = (userId: string, seatIds: string[]) =>
  call('POST', '/api/v1/holds', { seatIds }, asBuyer(userId));

/** What Redis says is held in the session (checked for consistency); see support/held-seats.ts. */
const heldInRedis = () => heldInSession(api.redis, sessionId);
/** Each test starts from a session where nothing is held (the previous race's holds removed). */
const clearHolds = () => clearSessionHolds(api.redis, sessionId);

const byStatus = (answers: Answer[], status: number) => answers.filter((a) => a.status === status);

beforeAll(async () => {
  api = await startTestApi({ MAX_SEATS_PER_HOLD: '4' });
  server = await startRealServer(api.app);
  baseUrl = server.baseUrl;
  inFlight = server.inFlight;

  const { big } = await seededCinema(api.app);
  sessionId = big.id;
  seats = big.seats.map((s) => s.id);
  expect(seats).toHaveLength(200);

  users = await insertBuyers(api.db, 500, 'Racer');
});

afterAll(async () => {
  await server.close();
  await api.close();
});

beforeEach(async () => {
  await clearHolds();
  const { seatToHold, holds } = await heldInRedis();
  expect([seatToHold.size, holds.size]).toEqual([0, 0]);
  inFlight.peak = 0;
});

describe('two users on one seat at once', () => {
  it('when they click the same seat in the same instant, then exactly one holds it and the other gets 409 SEAT_UNAVAILABLE', async () => {
    const rounds = 20;
    let overlapped = 0;
    for (let round = 0; round < rounds; round += 1) {
      const seat = seats[round]!;
      const [a, b] = [users[2 * round]!, users[2 * round + 1]!];
      inFlight.peak = 0;
      const answers = await Promise.all([hold(a, [seat]), hold(b, [seat])]);
      if (inFlight.peak === 2) overlapped += 1;

      expect(answers.map((x) => x.status).sort()).toEqual([201, 409]);
      const [winner] = byStatus(answers, 201);
      const [loser] = byStatus(answers, 409);
      expect(loser!.body.error).toMatchObject({ code: 'SEAT_UNAVAILABLE', seatIds: [seat] });
      expect(await api.redis.get(`seat:{${sessionId}}:${seat}`)).toBe(winner!.body.holdId);
    }
    // The race was real: the server had both requests of a round in hand at once.
    expect(overlapped).toBeGreaterThan(0);
    const { seatToHold, holds } = await heldInRedis();
    expect(seatToHold.size).toBe(rounds);
    expect(holds.size).toBe(rounds);
  });
});

describe('crossed seat orders at once', () => {
  it('when one user asks for seats {1,3} and another for {3,1} at the same time, then every round ends with exactly one hold: never none (no deadlock), never two', async () => {
    const rounds = 50;
    let overlapped = 0;
    for (let round = 0; round < rounds; round += 1) {
      // Seats "1" and "3" of a fresh stretch of four, so no round sees another's holds.
      const [one, three] = [seats[4 * round]!, seats[4 * round + 2]!];
      inFlight.peak = 0;
      const answers = await Promise.all([
        hold(users[2 * round]!, [one, three]),
        hold(users[2 * round + 1]!, [three, one]),
      ]);

      if (inFlight.peak === 2) overlapped += 1;
      const winners = byStatus(answers, 201);
      const losers = byStatus(answers, 409);
      expect({ round, winners: winners.length, losers: losers.length }).toEqual({
        round,
        winners: 1,
        losers: 1,
      });
      expect(losers[0]!.body.error.code).toBe('SEAT_UNAVAILABLE');
      expect([...losers[0]!.body.error.seatIds].sort()).toEqual([one, three].sort());
      const owners = await api.redis.mget(
        `seat:{${sessionId}}:${one}`,
        `seat:{${sessionId}}:${three}`,
      );
      expect(owners).toEqual([winners[0]!.body.holdId, winners[0]!.body.holdId]);
    }
    expect(overlapped).toBeGreaterThan(0);
    const { seatToHold, holds } = await heldInRedis();
    expect(holds.size).toBe(rounds);
    expect(seatToHold.size).toBe(2 * rounds);
    // The seats between each pair ("2" and "4") were never touched.
    for (let round = 0; round < rounds; round += 1) {
      expect(seatToHold.has(seats[4 * round + 1]!)).toBe(false);
      expect(seatToHold.has(seats[4 * round + 3]!)).toBe(false);
    }
  });
});

describe('500 requests on one seat', () => {
  it('when 500 different users click one seat at once, then exactly one gets 201 and 499 get 409 naming it, and Redis holds one seat for one hold', async () => {
    const seat = seats[100]!;
    const answers = await Promise.all(users.slice(0, 500).map((userId) => hold(userId, [seat])));
    // They really overlapped (client and server share this process's one thread, so a handful
    // at once is what a fast path allows; one at a time would be 1).
    expect(inFlight.peak).toBeGreaterThanOrEqual(3);

    const winners = byStatus(answers, 201);
    const losers = byStatus(answers, 409);
    expect([winners.length, losers.length]).toEqual([1, 499]);
    for (const loser of losers) {
      expect(loser.body.error).toMatchObject({ code: 'SEAT_UNAVAILABLE', seatIds: [seat] });
    }

    const { seatToHold, holds } = await heldInRedis();
    expect(seatToHold.size).toBe(1);
    expect(holds.size).toBe(1);
    expect(seatToHold.get(seat)).toBe(winners[0]!.body.holdId);
    expect(holds.get(winners[0]!.body.holdId)).toMatchObject({
      userId: winners[0]!.body.userId,
      seatIds: seat,
      stage: 'held',
    });
    // Only the winner holds anything: no loser was charged a seat against its HOLD_LIMIT.
    const userSets = await scanKeys(api.redis, `user-seats:{${sessionId}}:*`);
    expect(userSets).toEqual([`user-seats:{${sessionId}}:${winners[0]!.body.userId}`]);
  });
});

describe('100 users on 20 seat pairs', () => {
  it('when 5 users race for each of 20 pairs at once, then exactly 20 holds and 40 held seats exist, and every 409 names the contested seats', async () => {
    const pairs = Array.from({ length: 20 }, (_, p) => [
      seats[150 + 2 * p]!,
      seats[150 + 2 * p + 1]!,
    ]);
    const requests = users.slice(0, 100).map((userId, u) => {
      const pair = pairs[u % 20]!;
      // Half the users name the pair in the other order.
      return { userId, pair, seatIds: u % 2 === 0 ? pair : [...pair].reverse() };
    });
    const answers = await Promise.all(requests.map((r) => hold(r.userId, r.seatIds)));
    // They really overlapped (as above: a handful at once on this process's one thread; a busy
    // machine saw 4, where one at a time would be 1).
    expect(inFlight.peak).toBeGreaterThanOrEqual(3);

    expect(byStatus(answers, 201)).toHaveLength(20);
    expect(byStatus(answers, 409)).toHaveLength(80);
    const winnersPerPair = new Map<string, number>();
    answers.forEach((answer, i) => {
      const { pair, seatIds } = requests[i]!;
      if (answer.status === 201) {
        expect(answer.body.seatIds).toEqual(seatIds);
        winnersPerPair.set(pair[0]!, (winnersPerPair.get(pair[0]!) ?? 0) + 1);
      } else {
        expect(answer.body.error.code).toBe('SEAT_UNAVAILABLE');
        expect([...answer.body.error.seatIds].sort()).toEqual([...pair].sort());
      }
    });
    expect([...winnersPerPair.values()]).toEqual(Array(20).fill(1));

    const { seatToHold, holds } = await heldInRedis();
    expect(holds.size).toBe(20);
    expect(seatToHold.size).toBe(40);
    for (const pair of pairs) {
      expect(seatToHold.get(pair[0]!)).toBeDefined();
      expect(seatToHold.get(pair[0]!)).toBe(seatToHold.get(pair[1]!));
    }
  });
});
