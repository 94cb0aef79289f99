/**
 * The crowd's first clicks: buyers who just arrived (accounts and tokens the API processes never
 * saw) all ask for seats at the same moment, each over a connection of its own, as a browser
 * does. Two races, each on seats nobody touched:
 *   - one seat: FRESH_ONE_SEAT buyers on one seat, exactly one wins;
 *   - pairs: FRESH_PAIRS buyers on 20 pairs of seats (buyer i asks for pair i mod 20), exactly 20 win.
 * Reported: the time from the first request sent to the last answer received, and whether the
 * counts in the answers and in Redis are exact.
 */
import http from 'node:http';
import type { Redis } from 'ioredis';
import type { Orm } from '../../shared/db/orm';
import { freshBuyers, mintAccessTokens, type SeatDealer, type SessionSeats } from '../support/data';
import { PORTS } from '../support/environment';

const FRESH_ONE_SEAT = 500;
const FRESH_PAIRS = 100;
const PAIRS = 20;

export interface FreshRace {
  buyers: number;
  seatsAsked: number;
  created: number;
  conflicts: number;
  /** Answers other than 201 and 409, and requests that failed outright. */
  other: number;
  seatsHeldInRedis: number;
  exact: boolean;
  lastAnswerSeconds: number;
}

/** One POST on a connection of its own (no keep-alive pool), resolved with its status code. */
function postOnNewConnection(path: string, authorization: string, body: unknown) {
  const payload = JSON.stringify(body);
  return new Promise<number>((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: PORTS.api,
        path,
        method: 'POST',
        agent: false,
        headers: {
          authorization,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(payload);
  });
}

async function raceOf(
  orm: Orm,
  redis: Redis,
  { sessionId }: SessionSeats,
  buyers: number,
  seatsOf: (buyer: number) => string[],
  winners: number,
): Promise<FreshRace> {
  const users = await freshBuyers(orm, buyers);
  const bearer = await mintAccessTokens(users);
  const started = performance.now();
  const statuses = await Promise.all(
    users.map((user, i) =>
      postOnNewConnection('/api/v1/holds', bearer.get(user)!, { seatIds: seatsOf(i) }),
    ),
  );
  const lastAnswerSeconds = (performance.now() - started) / 1000;
  const asked = [...new Set(users.flatMap((_, i) => seatsOf(i)))];
  const created = statuses.filter((s) => s === 201).length;
  const conflicts = statuses.filter((s) => s === 409).length;
  const seatsHeldInRedis = (await redis.mget(asked.map((s) => `seat:{${sessionId}}:${s}`))).filter(
    Boolean,
  ).length;
  return {
    buyers,
    seatsAsked: asked.length,
    created,
    conflicts,
    other: buyers - created - conflicts,
    seatsHeldInRedis,
    exact:
      created === winners && conflicts === buyers - winners && seatsHeldInRedis === asked.length,
    lastAnswerSeconds,
  };
}

export async function freshRaces(orm: Orm, redis: Redis, dealer: SeatDealer) {
  const oneSeatSession = dealer.freshSession();
  const oneSeat = await raceOf(
    orm,
    redis,
    oneSeatSession,
    FRESH_ONE_SEAT,
    () => [oneSeatSession.seatIds[0]!],
    1,
  );
  const pairSession = dealer.freshSession();
  const pairs = await raceOf(
    orm,
    redis,
    pairSession,
    FRESH_PAIRS,
    (i) => pairSession.seatIds.slice(2 * (i % PAIRS), 2 * (i % PAIRS) + 2),
    PAIRS,
  );
  return { oneSeat, pairs };
}
