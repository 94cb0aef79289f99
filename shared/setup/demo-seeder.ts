import type { EntityManager } from '@mikro-orm/core';
import { Seeder } from '@mikro-orm/seeder';
import { Movie, Room, Session, SessionSeat, User } from '../db/entities';
import { seatLayout } from '../catalogue/seat-layout';
import { CURRENCY } from '../catalogue/catalogue';
import { hashPassword } from '../auth/passwords';

/** Demo users sign in with DEMO_USER_PASSWORD (development only; see giveDemoUsersPassword). */
const USERS = [
  ['Ana Souza', 'ana.souza@example.com', '1990-03-14'],
  ['Bruno Lima', 'bruno.lima@example.com', '1985-07-22'],
  ['Carla Mendes', 'carla.mendes@example.com', '1998-11-05'],
  ['Diego Rocha', 'diego.rocha@example.com', '2001-01-30'],
  ['Elisa Prado', 'elisa.prado@example.com', '1979-09-09'],
  ['Felipe Costa', 'felipe.costa@example.com', '1993-05-17'],
  ['Gabriela Nunes', 'gabriela.nunes@example.com', '1988-12-24'],
  ['Heitor Alves', 'heitor.alves@example.com', '2004-06-02'],
  ['Isabela Ramos', 'isabela.ramos@example.com', '1995-08-19'],
  ['João Pereira', 'joao.pereira@example.com', '1970-02-11'],
] as const;

/** The demo users' emails (they sign in with DEMO_USER_PASSWORD in development). */
export const DEMO_USER_EMAILS: readonly string[] = USERS.map(([, email]) => email);

const MOVIES = [
  {
    title: 'Filme X',
    durationMinutes: 128,
    rating: '14',
    synopsis: 'The premiere everyone queues for.',
  },
  { title: 'Filme Y', durationMinutes: 97, rating: 'L', synopsis: 'A family matinee.' },
] as const;

const ROOMS = [
  { name: 'Sala 1', rows: 4, seatsPerRow: 4 },
  { name: 'Sala 2', rows: 10, seatsPerRow: 20 },
] as const;

/** Local time of day in São Paulo (UTC-3 all year since 2019) → UTC hour. */
const SAO_PAULO_OFFSET_HOURS = 3;
const SESSIONS = [
  { movie: 'Filme X', room: 'Sala 1', localTime: [19, 0], priceCents: 2500 },
  { movie: 'Filme X', room: 'Sala 2', localTime: [21, 30], priceCents: 3000 },
  { movie: 'Filme Y', room: 'Sala 2', localTime: [15, 0], priceCents: 2000 },
] as const;

/** Tomorrow (UTC calendar) at the given São Paulo wall-clock time, so demo sessions are ahead. */
function tomorrowAt([hours, minutes]: readonly [number, number], now: Date): Date {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  day.setUTCHours(hours + SAO_PAULO_OFFSET_HOURS, minutes);
  return day;
}

/**
 * The demo cinema of §3. Idempotent by natural key (user email, movie title, room name, and
 * movie + room for sessions): running it twice creates nothing twice.
 */
export class DemoSeeder extends Seeder {
  async run(em: EntityManager): Promise<void> {
    const now = new Date();
    for (const [name, email, birthDate] of USERS) {
      if (!(await em.count(User, { email }))) em.create(User, { name, email, birthDate });
    }
    const movies = new Map<string, Movie>();
    for (const data of MOVIES) {
      movies.set(
        data.title,
        (await em.findOne(Movie, { title: data.title })) ?? em.create(Movie, data),
      );
    }
    const rooms = new Map<string, Room>();
    for (const data of ROOMS) {
      rooms.set(data.name, (await em.findOne(Room, { name: data.name })) ?? em.create(Room, data));
    }
    for (const s of SESSIONS) {
      const movie = movies.get(s.movie)!;
      const room = rooms.get(s.room)!;
      if (await em.count(Session, { movie, room })) continue;
      const session = em.create(Session, {
        movie,
        room,
        startsAt: tomorrowAt(s.localTime, now),
        priceCents: s.priceCents,
        currency: CURRENCY,
      });
      for (const seat of seatLayout(room.rows, room.seatsPerRow)) {
        em.create(SessionSeat, { session, ...seat });
      }
    }
    await em.flush();
  }
}

/**
 * Lets the demo users sign in with `password` (DEMO_USER_PASSWORD), where they have no password
 * yet. One salted hash serves them all: they share the password by definition, and hashing is
 * deliberately slow. Never called in production, where that variable is refused.
 */
export async function giveDemoUsersPassword(em: EntityManager, password: string): Promise<number> {
  const demoUsers = { email: { $in: [...DEMO_USER_EMAILS] }, passwordHash: null };
  if ((await em.count(User, demoUsers)) === 0) return 0;
  return em.nativeUpdate(User, demoUsers, { passwordHash: await hashPassword(password) });
}
