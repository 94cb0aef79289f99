import { randomBytes, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import type { Config } from '../../shared/config';
import { Movie, Order, Room, Session, SessionSeat, Ticket, User } from '../../shared/db/entities';
import { migrationsList } from '../../shared/db/migrations';
import { initOrm, type Orm } from '../../shared/db/orm';
import { prepareDatabase } from '../../shared/setup/prepare-database';
import { DemoSeeder } from '../../shared/setup/demo-seeder';
import { testConfig } from '../support/config';
import { createDatabaseIfMissing, dropDatabase } from '../../shared/db/database-admin';
import { silentLogger } from '../support/database';

const TABLES = [
  'users',
  'movies',
  'rooms',
  'sessions',
  'session_seats',
  'orders',
  'tickets',
  'payments',
  'processed_messages',
  'outbox_events',
  'receipts',
  'refresh_tokens',
];

/** The demo seed of §3: 10 users, 2 movies, rooms of 16 and 200 seats, 3 sessions (16 + 200 + 200 seats). */
const SEED_COUNTS = { users: 10, movies: 2, rooms: 2, sessions: 3, sessionSeats: 416 };

// Every database and ORM a test opens, so afterEach can close and drop them whatever happened.
let databases: Config[] = [];
let orms: Orm[] = [];

afterEach(async () => {
  await Promise.all(orms.map((orm) => orm.close(true)));
  await Promise.all(databases.map((config) => dropDatabase(config)));
  orms = [];
  databases = [];
});

/** The config of a database that does not exist yet, dropped after the test. */
function freshDatabase(): Config {
  const config = testConfig({ DB_NAME: `cine_test_${randomBytes(6).toString('hex')}` });
  databases.push(config);
  return config;
}

async function connect(config: Config): Promise<Orm> {
  const orm = await initOrm(config);
  orms.push(orm);
  return orm;
}

/** A database prepared the way `npm start` prepares it, and an ORM on it. */
async function preparedDatabase(options = { seed: true }): Promise<Orm> {
  const config = freshDatabase();
  await prepareDatabase(config, silentLogger, options);
  return connect(config);
}

async function databaseExists(name: string): Promise<boolean> {
  const admin = await initOrm({ ...testConfig(), db: { ...testConfig().db, name: 'postgres' } });
  try {
    const rows = await admin.em
      .getConnection()
      .execute('select 1 from pg_database where datname = ?', [name]);
    return rows.length === 1;
  } finally {
    await admin.close(true);
  }
}

async function publicTables(orm: Orm): Promise<string[]> {
  const rows: { table_name: string }[] = await orm.em
    .getConnection()
    .execute(`select table_name from information_schema.tables where table_schema = 'public'`);
  return rows.map((r) => r.table_name).sort();
}

async function seedCounts(orm: Orm) {
  const em = orm.em.fork();
  return {
    users: await em.count(User),
    movies: await em.count(Movie),
    rooms: await em.count(Room),
    sessions: await em.count(Session),
    sessionSeats: await em.count(SessionSeat),
  };
}

describe('migrations', () => {
  it('when applied to an empty database, then every table exists and one migration is recorded', async () => {
    const config = freshDatabase();
    await createDatabaseIfMissing(config);
    const orm = await connect(config);
    expect(await publicTables(orm)).toEqual([]);

    const applied = await orm.getMigrator().up();

    expect(applied).toHaveLength(migrationsList.length);
    expect(await publicTables(orm)).toEqual([...TABLES, 'mikro_orm_migrations'].sort());
    const recorded = await orm.em.getConnection().execute('select name from mikro_orm_migrations');
    expect(recorded).toHaveLength(migrationsList.length);
    // Migrations create the schema only: demo data is the seeder's job.
    expect(await orm.em.fork().count(User)).toBe(0);
  });

  it('when applied a second time, then there is nothing left to apply', async () => {
    const orm = await preparedDatabase({ seed: false });
    expect(await orm.getMigrator().up()).toEqual([]);
    expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
  });
});

describe('prepareDatabase', () => {
  it('when the database does not exist, then it creates, migrates and seeds it', async () => {
    const config = freshDatabase();
    expect(await databaseExists(config.db.name)).toBe(false);

    await prepareDatabase(config, silentLogger);

    expect(await databaseExists(config.db.name)).toBe(true);
    const orm = await connect(config);
    expect(await publicTables(orm)).toEqual(expect.arrayContaining(TABLES));
    expect(await seedCounts(orm)).toEqual(SEED_COUNTS);
  });

  it('when told not to seed, then the schema is there but no demo data', async () => {
    const orm = await preparedDatabase({ seed: false });
    expect(await seedCounts(orm)).toEqual({
      users: 0,
      movies: 0,
      rooms: 0,
      sessions: 0,
      sessionSeats: 0,
    });
  });

  it('when it runs again on a prepared database (a restart), then it creates nothing twice', async () => {
    const config = freshDatabase();
    await prepareDatabase(config, silentLogger);
    await prepareDatabase(config, silentLogger);

    const orm = await connect(config);
    expect(await seedCounts(orm)).toEqual(SEED_COUNTS);
    expect(
      await orm.em.getConnection().execute('select name from mikro_orm_migrations'),
    ).toHaveLength(migrationsList.length);
  });

  it('when two instances prepare a prepared database at once, then they create nothing twice', async () => {
    const config = freshDatabase();
    await prepareDatabase(config, silentLogger);

    await Promise.all([
      prepareDatabase(config, silentLogger),
      prepareDatabase(config, silentLogger),
    ]);

    expect(await seedCounts(await connect(config))).toEqual(SEED_COUNTS);
  });

  it('when two instances start at once on a missing database, then it is created, migrated and seeded once', async () => {
    const config = freshDatabase();
    await Promise.all([
      prepareDatabase(config, silentLogger),
      prepareDatabase(config, silentLogger),
    ]);
    expect(await seedCounts(await connect(config))).toEqual(SEED_COUNTS);
  });
});

describe('DemoSeeder', () => {
  it('when run again directly on a seeded database, then it creates nothing twice', async () => {
    const orm = await preparedDatabase();

    await orm.getSeeder().seed(DemoSeeder);
    await orm.getSeeder().seed(DemoSeeder);

    expect(await seedCounts(orm)).toEqual(SEED_COUNTS);
  });

  it('when seeded, then there are at least 10 users, each with a name, an email and a birth date', async () => {
    const users = await (await preparedDatabase()).em.fork().find(User, {});
    expect(users.length).toBeGreaterThanOrEqual(10);
    for (const user of users) {
      expect(user.name).toMatch(/\S/);
      expect(user.email).toMatch(/^[^@\s]+@[^@\s]+\.[a-z]+$/);
      expect(user.birthDate).toBeTruthy();
      expect(Number.isNaN(new Date(user.birthDate as string | Date).getTime())).toBe(false);
    }
    expect(new Set(users.map((u) => u.email)).size).toBe(users.length);
  });

  it('when seeded, then there is a 4×4 room of 16 seats and a 10×20 room of 200 seats', async () => {
    const rooms = await (await preparedDatabase()).em.fork().find(Room, {});
    const sizes = rooms
      .map((r) => ({ rows: r.rows, seatsPerRow: r.seatsPerRow }))
      .sort((a, b) => a.rows - b.rows);
    expect(sizes).toEqual([
      { rows: 4, seatsPerRow: 4 },
      { rows: 10, seatsPerRow: 20 },
    ]);
  });

  it('when seeded, then every session has one seat per seat of its room', async () => {
    const em = (await preparedDatabase()).em.fork();
    const sessions = await em.find(Session, {}, { populate: ['room'] });
    expect(sessions).toHaveLength(3);
    for (const session of sessions) {
      const seats = await em.find(
        SessionSeat,
        { session },
        { orderBy: { row: 'asc', number: 'asc' } },
      );
      expect(seats).toHaveLength(session.room.rows * session.room.seatsPerRow);
      expect(new Set(seats.map((s) => s.label)).size).toBe(seats.length);
      expect(seats[0]?.label).toBe('A1');
    }
  });

  it('when seeded, then "Filme X" plays at 19:00 São Paulo time (22:00 UTC), in the future, for R$ 25,00', async () => {
    const em = (await preparedDatabase()).em.fork();
    const sessions = await em.find(Session, { movie: { title: 'Filme X' }, priceCents: 2500 });
    expect(sessions).toHaveLength(1);
    const [session] = sessions as [Session];
    expect(session.currency).toBe('BRL');
    expect(session.startsAt.getUTCHours()).toBe(22);
    expect(session.startsAt.getUTCMinutes()).toBe(0);
    expect(session.startsAt.getTime()).toBeGreaterThan(Date.now());
  });
});

describe('the active-ticket constraint (no seat sold twice)', () => {
  async function aSessionWithSeats(em: EntityManager) {
    const session = await em.findOneOrFail(Session, {
      movie: { title: 'Filme X' },
      priceCents: 2500,
    });
    const seats = await em.find(
      SessionSeat,
      { session },
      { orderBy: { row: 'asc', number: 'asc' }, limit: 2 },
    );
    const users = await em.find(User, {}, { limit: 2 });
    return { session, seats: seats as [SessionSeat, SessionSeat], users: users as [User, User] };
  }

  function sell(em: EntityManager, user: User, session: Session, seat: SessionSeat): Ticket {
    const order = em.create(Order, {
      id: randomUUID(),
      user,
      session,
      holdId: randomUUID(),
      status: 'paid',
      totalCents: session.priceCents,
      currency: 'BRL',
      method: 'pix',
      paidAt: new Date(),
    });
    return em.create(Ticket, { order, seat, status: 'active', priceCents: session.priceCents });
  }

  it('when a seat already has an active ticket, then a second active ticket for it is refused', async () => {
    const orm = await preparedDatabase();
    const em = orm.em.fork();
    const { session, seats, users } = await aSessionWithSeats(em);
    sell(em, users[0], session, seats[0]);
    await em.flush();

    // Another finaliser, in its own unit of work, tries to sell the same seat to someone else.
    const rival = orm.em.fork();
    const theirs = await aSessionWithSeats(rival);
    sell(rival, theirs.users[1], theirs.session, theirs.seats[0]);
    await expect(rival.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);

    expect(await orm.em.fork().count(Ticket, { seat: seats[0].id })).toBe(1);
  });

  it('when the seat next to it is sold, then that is accepted (the constraint is per seat)', async () => {
    const orm = await preparedDatabase();
    const em = orm.em.fork();
    const { session, seats, users } = await aSessionWithSeats(em);
    sell(em, users[0], session, seats[0]);
    sell(em, users[1], session, seats[1]);
    await em.flush();

    expect(await orm.em.fork().count(Ticket, { status: 'active' })).toBe(2);
  });

  it('when the active ticket is refunded, then the seat can be sold again', async () => {
    const orm = await preparedDatabase();
    const em = orm.em.fork();
    const { session, seats, users } = await aSessionWithSeats(em);
    const first = sell(em, users[0], session, seats[0]);
    await em.flush();

    first.status = 'refunded';
    await em.flush();
    sell(em, users[1], session, seats[0]);
    await em.flush();

    const tickets = await orm.em
      .fork()
      .find(Ticket, { seat: seats[0].id }, { orderBy: { createdAt: 'asc' } });
    expect(tickets.map((t) => t.status).sort()).toEqual(['active', 'refunded']);
  });
});
