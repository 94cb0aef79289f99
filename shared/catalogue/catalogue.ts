import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { LRUCache } from 'lru-cache';
import type { Orm } from '../db/orm';
import { Movie, Room, Session, SessionSeat, User } from '../db/entities';
import { AppError, notFound } from '../errors';
import { readSeatStatuses, seatKeysOf, type SeatStatus } from './seat-status';
import { SeatMapCache } from './seat-map-cache';
import { holdScripts } from '../holds/scripts';
import { byRowName, ROOM_LIMITS, seatLayout } from './seat-layout';
import type { RedisClient } from '../redis';

export const CURRENCY = 'BRL';

export interface UserView {
  id: string;
  name: string;
  email: string;
}
export interface MovieView {
  id: string;
  title: string;
  durationMinutes: number;
  rating: string | null;
  synopsis: string | null;
}
export interface RoomView {
  id: string;
  name: string;
  rows: number;
  seatsPerRow: number;
  seatsTotal: number;
}
export interface SeatView {
  id: string;
  label: string;
  row: string;
  number: number;
}
/** The immutable part of a session: what can be cached for as long as the process lives. */
export interface SessionLayout {
  id: string;
  movie: { id: string; title: string };
  room: { id: string; name: string };
  startsAt: string;
  priceCents: number;
  currency: string;
  seats: SeatView[];
}
export interface SessionSummary extends Omit<SessionLayout, 'seats'> {
  seatsTotal: number;
  seatsAvailable: number;
}
export interface SeatMap extends SessionSummary {
  seats: (SeatView & { status: SeatStatus })[];
}

export interface SessionFilter {
  movieId?: string;
  /** A calendar day, YYYY-MM-DD, in UTC. */
  date?: string;
}

/**
 * Movies, rooms, sessions and their seats. Sessions and their seats never change once created,
 * so their layout is cached per process without expiry; only the list of sessions (which grows)
 * is cached for `listTtlSeconds`. Seat status is read live from Redis; a session's serialised
 * seat map is reused only while Redis says nothing in it changed (seat-map-cache.ts).
 */
export class Catalogue {
  private readonly layouts = new LRUCache<string, Promise<SessionLayout>>({ max: 10_000 });
  private readonly seatKeysBySession = new WeakMap<SessionLayout, string[]>();
  private readonly sessionLists: LRUCache<string, string[]>;
  private readonly seatMaps: SeatMapCache;

  constructor(
    private readonly orm: Orm,
    private readonly redis: RedisClient,
    listTtlSeconds: number,
  ) {
    this.seatMaps = new SeatMapCache(redis, holdScripts(redis));
    this.sessionLists = new LRUCache<string, string[]>({
      max: 1_000,
      ttl: Math.max(listTtlSeconds, 0) * 1000 || 1,
    });
  }

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /** Users by name, a page at a time (admin only: a user list is personal data). */
  async listUsers(page = 1, pageSize = 100): Promise<{ items: UserView[]; total: number }> {
    const [users, total] = await this.em().findAndCount(
      User,
      {},
      {
        fields: ['id', 'name', 'email'],
        orderBy: { name: 'asc', id: 'asc' },
        limit: pageSize,
        offset: (page - 1) * pageSize,
      },
    );
    return { items: users.map(({ id, name, email }) => ({ id, name, email })), total };
  }

  async user(userId: string): Promise<UserView> {
    const user = await this.em().findOne(User, userId, { fields: ['id', 'name', 'email'] });
    if (!user) throw notFound('user', userId);
    return { id: user.id, name: user.name, email: user.email };
  }

  async listMovies(): Promise<MovieView[]> {
    const movies = await this.em().find(Movie, {}, { orderBy: { title: 'asc', id: 'asc' } });
    return movies.map(toMovieView);
  }

  async createMovie(input: Omit<MovieView, 'id' | 'rating' | 'synopsis'> & Partial<MovieView>) {
    const em = this.em();
    const movie = em.create(Movie, {
      title: input.title,
      durationMinutes: input.durationMinutes,
      rating: input.rating ?? null,
      synopsis: input.synopsis ?? null,
    });
    await em.flush();
    return toMovieView(movie);
  }

  async createRoom(input: { name: string; rows: number; seatsPerRow: number }): Promise<RoomView> {
    if (input.rows * input.seatsPerRow < ROOM_LIMITS.minSeats) {
      throw new AppError(
        400,
        'ROOM_TOO_SMALL',
        `A room needs at least ${ROOM_LIMITS.minSeats} seats.`,
        { seats: input.rows * input.seatsPerRow },
      );
    }
    const em = this.em();
    const room = em.create(Room, input);
    try {
      await em.flush();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) {
        throw new AppError(409, 'ROOM_NAME_TAKEN', 'A room with this name already exists.', {
          name: input.name,
        });
      }
      throw err;
    }
    return toRoomView(room);
  }

  async listRooms(): Promise<RoomView[]> {
    const rooms = await this.em().find(Room, {}, { orderBy: { name: 'asc' } });
    return rooms.map(toRoomView);
  }

  /** Creates the session and one seat row per seat of its room, in one transaction. */
  async createSession(input: {
    movieId: string;
    roomId: string;
    startsAt: Date;
    priceCents: number;
  }): Promise<SessionSummary> {
    const em = this.em();
    const [movie, room] = await Promise.all([
      em.findOne(Movie, input.movieId),
      em.findOne(Room, input.roomId),
    ]);
    if (!movie) throw notFound('movie', input.movieId);
    if (!room) throw notFound('room', input.roomId);
    const session = await em.transactional(async (tx) => {
      const created = tx.create(Session, {
        movie,
        room,
        startsAt: input.startsAt,
        priceCents: input.priceCents,
        currency: CURRENCY,
      });
      for (const seat of seatLayout(room.rows, room.seatsPerRow)) {
        tx.create(SessionSeat, { session: created, ...seat });
      }
      return created;
    });
    this.sessionLists.clear();
    const layout = await this.sessionLayout(session.id);
    return {
      ...withoutSeats(layout),
      seatsTotal: layout.seats.length,
      seatsAvailable: layout.seats.length,
    };
  }

  async listSessions(filter: SessionFilter = {}): Promise<SessionSummary[]> {
    const layouts = await Promise.all(
      (await this.sessionIds(filter)).map((id) => this.sessionLayout(id)),
    );
    const maps = await this.withLiveStatus(layouts);
    return maps.map(({ seats: _seats, ...summary }) => summary);
  }

  /**
   * The session with every seat and its live status (§4.1), as JSON: the hot read of a
   * premiere, so the serialised answer is reused while it is true.
   */
  async seatMapJson(sessionId: string): Promise<Buffer> {
    const layout = await this.sessionLayout(sessionId);
    return this.seatMaps.json(sessionId, this.seatKeys(layout), (statuses) =>
      withStatuses(layout, statuses),
    );
  }

  /** Every session with its seat map: the seed route `GET /sessao/todas`. */
  async allSeatMaps(): Promise<SeatMap[]> {
    const layouts = await Promise.all(
      (await this.sessionIds({})).map((id) => this.sessionLayout(id)),
    );
    return this.withLiveStatus(layouts);
  }

  private async withLiveStatus(layouts: SessionLayout[]): Promise<SeatMap[]> {
    const statuses = await readSeatStatuses(
      this.redis,
      layouts.map((layout) => this.seatKeys(layout)),
    );
    return layouts.map((layout, i) => withStatuses(layout, statuses[i] ?? []));
  }

  /** Each layout's seat keys, built once: a 200-seat map would otherwise build 200 strings. */
  private seatKeys(layout: SessionLayout): string[] {
    let keys = this.seatKeysBySession.get(layout);
    if (!keys) {
      keys = seatKeysOf(
        layout.id,
        layout.seats.map((s) => s.id),
      );
      this.seatKeysBySession.set(layout, keys);
    }
    return keys;
  }

  /**
   * The session's immutable layout, loaded once per process. The promise is what is cached, so
   * a burst of requests for a session nobody asked for yet (the first clicks of a premiere)
   * shares one load instead of starting one each. Seats are read as plain rows: a 2 500-seat
   * room does not need 2 500 ORM entities.
   */
  sessionLayout(sessionId: string): Promise<SessionLayout> {
    let layout = this.layouts.get(sessionId);
    if (!layout) {
      layout = this.loadLayout(sessionId);
      this.layouts.set(sessionId, layout);
      layout.catch(() => this.layouts.delete(sessionId));
    }
    return layout;
  }

  private async loadLayout(sessionId: string): Promise<SessionLayout> {
    const em = this.em();
    const session = await em.findOne(Session, sessionId, { populate: ['movie', 'room'] });
    if (!session) throw notFound('session', sessionId);
    const seats: SeatView[] = await em
      .getConnection()
      .execute('select id, label, "row", number from session_seats where session_id = ?', [
        sessionId,
      ]);
    return {
      id: session.id,
      movie: { id: session.movie.id, title: session.movie.title },
      room: { id: session.room.id, name: session.room.name },
      startsAt: session.startsAt.toISOString(),
      priceCents: session.priceCents,
      currency: session.currency,
      seats: seats
        .map(({ id, label, row, number }) => ({ id, label, row, number }))
        .sort(byRowThenNumber),
    };
  }

  private async sessionIds(filter: SessionFilter): Promise<string[]> {
    const cacheKey = `${filter.movieId ?? ''}|${filter.date ?? ''}`;
    const cached = this.sessionLists.get(cacheKey);
    if (cached) return cached;
    const where: Record<string, unknown> = {};
    if (filter.movieId) where.movie = filter.movieId;
    if (filter.date) {
      const start = new Date(`${filter.date}T00:00:00.000Z`);
      const end = new Date(start.getTime() + 24 * 60 * 60 * 1000);
      where.startsAt = { $gte: start, $lt: end };
    }
    const sessions = await this.em().find(Session, where, {
      orderBy: { startsAt: 'asc', id: 'asc' },
      fields: ['id'],
    });
    const ids = sessions.map((s) => s.id);
    this.sessionLists.set(cacheKey, ids);
    return ids;
  }
}

function byRowThenNumber(a: SeatView, b: SeatView): number {
  return byRowName(a.row, b.row) || a.number - b.number;
}

/** A layout with each seat's live status (in layout order; a missing one is available). */
function withStatuses(layout: SessionLayout, statuses: readonly SeatStatus[]): SeatMap {
  // The seat map is the hottest read of a premiere: one plain loop, no spreads.
  let available = 0;
  const seats = layout.seats.map(({ id, label, row, number }, j) => {
    const status = statuses[j] ?? 'available';
    if (status === 'available') available++;
    return { id, label, row, number, status };
  });
  return { ...withoutSeats(layout), seatsTotal: seats.length, seatsAvailable: available, seats };
}

function withoutSeats({ seats: _seats, ...rest }: SessionLayout): Omit<SessionLayout, 'seats'> {
  return rest;
}

function toMovieView(m: Movie): MovieView {
  return {
    id: m.id,
    title: m.title,
    durationMinutes: m.durationMinutes,
    rating: m.rating ?? null,
    synopsis: m.synopsis ?? null,
  };
}

function toRoomView(r: Room): RoomView {
  return {
    id: r.id,
    name: r.name,
    rows: r.rows,
    seatsPerRow: r.seatsPerRow,
    seatsTotal: r.rows * r.seatsPerRow,
  };
}
