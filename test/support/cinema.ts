import request from 'supertest';
import { asBuyer, asOwnerOf, DEMO_PASSWORD, signIn } from './buyers';
import { DEMO_USER_EMAILS } from '../../shared/setup/demo-seeder';
import { testConfig } from './config';
import { mastersOf, type RedisClient } from '../../shared/redis';

/** What supertest can send requests to: the app itself, or the base URL of a server running it. */
export type Target = Parameters<typeof request>[0];

/** A user as GET /api/v1/users lists them. */
export interface User {
  id: string;
  name: string;
  email: string;
}

/** GET /api/v1/sessions/:id: a session and the live status of each of its seats. */
export interface SeatMap {
  id: string;
  movie: { id: string; title: string };
  room: { id: string; name: string };
  startsAt: string;
  priceCents: number;
  currency: string;
  seatsTotal: number;
  seatsAvailable: number;
  seats: { id: string; label: string; row: string; number: number; status: string }[];
}

/** The 201 body of POST /api/v1/holds. */
export interface Hold {
  holdId: string;
  holdToken: string;
  userId: string;
  sessionId: string;
  seatIds: string[];
  stage: string;
  expiresAt: string;
  expiresInSeconds: number;
}

/** The admin's Authorization header in tests. */
export const asAdmin = () => ({ Authorization: `Bearer ${testConfig().adminToken}` });

/**
 * The demo cinema every test database is seeded with: its users (each signed in, see
 * `asBuyer`), and the seat maps of its first 200-seat session (`big`) and of its 16-seat session
 * (`small`).
 */
export async function seededCinema(app: Target) {
  const users: User[] = await Promise.all(
    DEMO_USER_EMAILS.map(async (email) => {
      const { userId, name } = await signIn(app, email, DEMO_PASSWORD);
      return { id: userId, email, name };
    }),
  );
  const sessions: { id: string; seatsTotal: number }[] = (
    await request(app).get('/api/v1/sessions').expect(200)
  ).body;
  const seatMap = async (seatsTotal: number): Promise<SeatMap> => {
    const session = sessions.find((s) => s.seatsTotal === seatsTotal);
    if (!session) throw new Error(`no seeded session with ${seatsTotal} seats`);
    return (await request(app).get(`/api/v1/sessions/${session.id}`).expect(200)).body;
  };
  return { users, sessions, big: await seatMap(200), small: await seatMap(16) };
}

/**
 * Hands out seats and users in order, so a test gets seats no earlier test of its file was given
 * (and a user the previous tests used least).
 */
export class Dealer {
  private nextSeat = 0;
  private nextUser = 0;

  constructor(
    private readonly seats: readonly { id: string }[],
    private readonly users: readonly { id: string }[] = [],
  ) {}

  /** The ids of `n` seats not handed out before. */
  readonly freshSeats = (n: number): string[] => {
    if (this.nextSeat + n > this.seats.length) {
      throw new Error(`only ${this.seats.length - this.nextSeat} fresh seats left, ${n} wanted`);
    }
    return this.seats.slice(this.nextSeat, (this.nextSeat += n)).map((s) => s.id);
  };

  /** The id of the next user, round robin. */
  readonly someUser = (): string => {
    if (this.users.length === 0) throw new Error('this dealer was given no users');
    return this.users[this.nextUser++ % this.users.length]!.id;
  };
}

/** POST /api/v1/holds, expecting 201: the new hold. */
export async function holdSeats(app: Target, userId: string, seatIds: string[]): Promise<Hold> {
  return (
    await request(app).post('/api/v1/holds').set(asBuyer(userId)).send({ seatIds }).expect(201)
  ).body;
}

/** POST /api/v1/holds/:id/confirm with the hold's token, expecting 200: the confirmation. */
export async function confirmHold(
  app: Target,
  hold: Pick<Hold, 'holdId' | 'holdToken' | 'userId'>,
): Promise<{ holdId: string; stage: string; expiresAt: string; expiresInSeconds: number }> {
  return (
    await request(app).post(`/api/v1/holds/${hold.holdId}/confirm`).set(asOwnerOf(hold)).expect(200)
  ).body;
}

/** A hold of `seatIds` for `userId`, confirmed. */
export async function confirmedHold(app: Target, userId: string, seatIds: string[]) {
  const hold = await holdSeats(app, userId, seatIds);
  await confirmHold(app, hold);
  return hold;
}

/** Every key of a pattern, without KEYS (SCAN, as one would in production), on every master. */
export async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const master of await mastersOf(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await master.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}
