/** The bench's own data: users who sign in through the API, and sessions of a big hall. */
import { hashPassword } from '../../shared/auth/passwords';
import type { Orm } from '../../shared/db/orm';
import { BUYER_PASSWORD, PORTS, USERS } from './environment';

export interface BenchData {
  users: string[];
  /** `Authorization` header of each user, once signed in (signInEveryone). */
  bearer: Map<string, string>;
  /** Seats of the bench hall's sessions, session by session. */
  seats: { sessionId: string; seatIds: string[] }[];
  seatMapSession: { id: string; seatIds: string[] };
}

export const HALL_SESSIONS = 160; // × 2500 seats: enough distinct seats for every timed hold (~5k holds/s × 30 s + checkouts)

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
     insert into rooms (id, name, rows, seats_per_row, created_at) values (gen_random_uuid(), 'Bench hall', 50, 50, now());
     insert into sessions (id, movie_id, room_id, starts_at, price_cents, currency, created_at)
     select gen_random_uuid(), (select id from movies where title = 'Bench film'),
            (select id from rooms where name = 'Bench hall'), now() + interval '2 days' + (i || ' minutes')::interval,
            2500, 'BRL', now()
     from generate_series(1, ${HALL_SESSIONS}) i;
     insert into session_seats (id, session_id, "row", number, label)
     select gen_random_uuid(), s.id, chr(64 + r), n, chr(64 + r) || n
     from sessions s join rooms rm on rm.id = s.room_id and rm.name = 'Bench hall',
          generate_series(1, 25) r, generate_series(1, 100) n`,
  );
  const users = (
    await connection.execute<{ id: string }[]>(`select id from users where email like 'bench%'`)
  ).map((u) => u.id);
  const seatRows = await connection.execute<{ session_id: string; id: string }[]>(
    `select ss.session_id, ss.id from session_seats ss join sessions s on s.id = ss.session_id
     join rooms r on r.id = s.room_id where r.name = 'Bench hall' order by s.starts_at, ss."row", ss.number`,
  );
  const bySession = new Map<string, string[]>();
  for (const row of seatRows)
    bySession.set(row.session_id, [...(bySession.get(row.session_id) ?? []), row.id]);
  const [seatMap] = await connection.execute<{ id: string }[]>(
    `select s.id from sessions s join rooms r on r.id = s.room_id where r.rows * r.seats_per_row = 200 limit 1`,
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
    seats: [...bySession].map(([sessionId, seatIds]) => ({ sessionId, seatIds })),
    seatMapSession: { id: seatMap!.id, seatIds: seatMapSeats },
  };
}

/**
 * Every bench buyer signs in through the public API (POST /api/v1/auth/token), a few at a time:
 * the scenarios then send each buyer's own access token, as real buyers do.
 */
export async function signInEveryone(data: BenchData): Promise<void> {
  const started = performance.now();
  let next = 0;
  const signer = async () => {
    while (next < data.users.length) {
      const i = next++;
      const res = await fetch(`http://127.0.0.1:${PORTS.api}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `bench${i + 1}@example.com`, password: BUYER_PASSWORD }),
      });
      if (res.status !== 200) throw new Error(`bench${i + 1} could not sign in: ${res.status}`);
      const { accessToken } = (await res.json()) as { accessToken: string };
      const me = (await (
        await fetch(`http://127.0.0.1:${PORTS.api}/api/v1/me`, {
          headers: { authorization: `Bearer ${accessToken}` },
        })
      ).json()) as { id: string };
      data.bearer.set(me.id, `Bearer ${accessToken}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, signer));
  console.log(
    `${data.bearer.size} buyers signed in (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
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

/** A buyer's request: the body, sent with that buyer's access token. */
export const asBuyer = (data: BenchData, userId: string, body: unknown) => ({
  body,
  authorization: data.bearer.get(userId)!,
});
