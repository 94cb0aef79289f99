/**
 * The bench's own data: buyers with access tokens, sessions of a big hall, and an evening's worth
 * of ordinary 200-seat sessions.
 */
import { randomUUID } from 'node:crypto';
import { accessTokens } from '../../shared/auth/access-tokens';
import { hashPassword } from '../../shared/auth/passwords';
import type { Orm } from '../../shared/db/orm';
import { BUYER_PASSWORD, config, PORTS, USERS } from './environment';

export interface SessionSeats {
  sessionId: string;
  seatIds: string[];
}

export interface BenchData {
  users: string[];
  /** `Authorization` header of each user (giveEveryoneATokens). */
  bearer: Map<string, string>;
  /** Seats of the bench hall's sessions, session by session. */
  seats: SessionSeats[];
  /** Seats of the 200-seat sessions an ordinary evening's holds spread over (SpreadDealer). */
  evening: SessionSeats[];
  seatMapSession: { id: string; seatIds: string[] };
}

export const HALL_SESSIONS = 160; // × 2500 seats: enough distinct seats for best available, races and checkouts
/** × 200 seats: 200 000 distinct seats for the spread holds (~5k holds/s × 30 s on a fast day). */
export const EVENING_SESSIONS = 1000;
/** How many of the evening's sessions are on sale at once: holds go round-robin over them. */
export const EVENING_SESSIONS_AT_ONCE = 100;

/** SQL: a new room of `rows` × `perRow` seats and `count` sessions of the bench film in it. */
const sessionsInNewRoom = (
  room: string,
  rows: number,
  perRow: number,
  count: number,
  daysAhead: number,
) => `
  insert into rooms (id, name, rows, seats_per_row, created_at) values (gen_random_uuid(), '${room}', ${rows}, ${perRow}, now());
  insert into sessions (id, movie_id, room_id, starts_at, price_cents, currency, created_at)
  select gen_random_uuid(), (select id from movies where title = 'Bench film'),
         (select id from rooms where name = '${room}'), now() + interval '${daysAhead} days' + (i || ' minutes')::interval,
         2500, 'BRL', now()
  from generate_series(1, ${count}) i;
  insert into session_seats (id, session_id, "row", number, label)
  select gen_random_uuid(), s.id, chr(64 + r), n, chr(64 + r) || n
  from sessions s join rooms rm on rm.id = s.room_id and rm.name = '${room}',
       generate_series(1, ${rows}) r, generate_series(1, ${perRow}) n;`;

export async function prepareData(orm: Orm): Promise<BenchData> {
  const connection = orm.em.getConnection();
  // One hash for all: hashing is deliberately slow, and they share the password anyway.
  await connection.execute(
    `insert into users (id, name, email, password_hash, created_at)
     select gen_random_uuid(), 'Bench user ' || i, 'bench' || i || '@example.com', ?, now()
     from generate_series(1, ${USERS}) i`,
    [await hashPassword(BUYER_PASSWORD)],
  );
  await connection.execute(
    `insert into movies (id, title, duration_minutes, created_at) values (gen_random_uuid(), 'Bench film', 120, now());
     ${sessionsInNewRoom('Bench hall', 25, 100, HALL_SESSIONS, 2)}
     ${sessionsInNewRoom('Bench room', 10, 20, EVENING_SESSIONS, 3)}`,
  );
  const users = (
    await connection.execute<{ id: string }[]>(`select id from users where email like 'bench%'`)
  ).map((u) => u.id);
  const seatsOfRoom = async (room: string): Promise<SessionSeats[]> => {
    const rows = await connection.execute<{ session_id: string; id: string }[]>(
      `select ss.session_id, ss.id from session_seats ss join sessions s on s.id = ss.session_id
       join rooms r on r.id = s.room_id where r.name = ? order by s.starts_at, ss."row", ss.number`,
      [room],
    );
    const bySession = new Map<string, string[]>();
    for (const row of rows) {
      const seats = bySession.get(row.session_id);
      if (seats) seats.push(row.id);
      else bySession.set(row.session_id, [row.id]);
    }
    return [...bySession].map(([sessionId, seatIds]) => ({ sessionId, seatIds }));
  };
  const [seatMap] = await connection.execute<{ id: string }[]>(
    `select s.id from sessions s join rooms r on r.id = s.room_id where r.name = 'Sala 2' limit 1`,
  );
  const seatMapSeats = (
    await connection.execute<{ id: string }[]>(
      'select id from session_seats where session_id = ?',
      [seatMap!.id],
    )
  ).map((s) => s.id);
  return {
    users,
    bearer: new Map(),
    seats: await seatsOfRoom('Bench hall'),
    evening: await seatsOfRoom('Bench room'),
    seatMapSession: { id: seatMap!.id, seatIds: seatMapSeats },
  };
}

/** Access tokens as the API issues them (same secret, issuer, audience), each in a family of its own. */
export async function mintAccessTokens(userIds: string[]): Promise<Map<string, string>> {
  const tokens = accessTokens(config.auth);
  const minted = await Promise.all(
    userIds.map(async (id) => {
      const { token } = await tokens.issue({ sub: id, fam: randomUUID() });
      return [id, `Bearer ${token}`] as const;
    }),
  );
  return new Map(minted);
}

/** Buyers who arrive now: users the API processes never saw, with tokens never used. */
export async function freshBuyers(orm: Orm, count: number): Promise<string[]> {
  const tag = randomUUID().slice(0, 8);
  const rows = await orm.em.getConnection().execute<{ id: string }[]>(
    `insert into users (id, name, email, created_at)
     select gen_random_uuid(), 'Fresh buyer ' || i, 'fresh-${tag}-' || i || '@example.com', now()
     from generate_series(1, ${count}) i returning id`,
  );
  return rows.map((row) => row.id);
}

/**
 * Gives every bench buyer an access token. A password hash costs a sign-in tens of CPU-ms on
 * purpose, and signing in a thousand buyers through the API took minutes of both cores; so a
 * sample signs in through POST /api/v1/auth/token (to measure what a sign-in costs) and the rest
 * get tokens minted as the API would. Every purchase still goes through the public API.
 */
export async function giveEveryoneATokens(data: BenchData, sample = 20) {
  const started = performance.now();
  for (let i = 0; i < sample; i++) {
    const res = await fetch(`http://127.0.0.1:${PORTS.api}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `bench${i + 1}@example.com`, password: BUYER_PASSWORD }),
    });
    if (res.status !== 200) throw new Error(`bench${i + 1} could not sign in: ${res.status}`);
  }
  const signInMs = (performance.now() - started) / sample;
  for (const [id, bearer] of await mintAccessTokens(data.users)) data.bearer.set(id, bearer);
  console.log(
    `${sample} buyers signed in through the API (${signInMs.toFixed(0)} ms each, one at a time); ${data.bearer.size} tokens in all`,
  );
  return { signInMs };
}

/** Hands out seats no earlier request used, across scenarios and runs. */
export class SeatDealer {
  private session = 0;
  private seat = 0;
  constructor(private readonly data: BenchData) {}
  next(): string {
    let current = this.data.seats[this.session]!;
    if (this.seat >= current.seatIds.length) {
      this.session++;
      this.seat = 0;
      current = this.data.seats[this.session]!;
      if (!current) throw new Error('out of bench seats');
    }
    return current.seatIds[this.seat++]!;
  }
  /** The next whole session, for scenarios that need seats nobody touched. */
  freshSession(): { sessionId: string; seatIds: string[] } {
    if (this.seat > 0) this.session++;
    this.seat = 0;
    const session = this.data.seats[this.session++]!;
    return session;
  }
}

/**
 * Hands out the seats of an ordinary evening: round-robin over EVENING_SESSIONS_AT_ONCE sessions,
 * the next free seat of each in turn; when those are full, the next hundred go on sale.
 */
export class SpreadDealer {
  private block = 0;
  private turn = 0;
  constructor(private readonly data: BenchData) {}
  next(): string {
    const perBlock = EVENING_SESSIONS_AT_ONCE * 200;
    if (this.turn >= perBlock) {
      this.block++;
      this.turn = 0;
    }
    const session =
      this.data.evening[
        this.block * EVENING_SESSIONS_AT_ONCE + (this.turn % EVENING_SESSIONS_AT_ONCE)
      ];
    if (!session) throw new Error('out of evening seats');
    const seat = session.seatIds[Math.floor(this.turn / EVENING_SESSIONS_AT_ONCE)]!;
    this.turn++;
    return seat;
  }
}

/** A buyer's request: the body, sent with that buyer's access token. */
export const asBuyer = (data: BenchData, userId: string, body: unknown) => ({
  body,
  authorization: data.bearer.get(userId)!,
});
