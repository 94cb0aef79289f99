import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { LRUCache } from 'lru-cache';
import type { Orm } from '../db/orm';
import { Movie, Room, Session, SessionSeat } from '../db/entities';
import { AppError, notFound } from '../errors';
import { readSeatStatuses, seatKeysOf, type SeatStatus } from './seat-status';
import { SeatMapCache } from './seat-map-cache';
import { holdScripts } from '../holds/scripts';
import { byRowName, ROOM_LIMITS, seatLayout } from './seat-layout';
import { unknownIds } from './directory';
import type { RedisClient } from '../redis';

export const CURRENCY = 'BRL';

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

/** Where a page of the session list starts: after this session, in (startsAt, id) order. */
export interface SessionListPosition {
  startsAt: string;
  id: string;
}

export interface SessionPage {
  items: SessionSummary[];
  /** Where the next page starts; absent on the last page. */
  next?: SessionListPosition;
}

/**
 * When a session has ended: once its movie has run its length from the start. The one rule for
 * "has not ended", in TypeScript and (SESSION_ENDS_AT_SQL) in SQL.
 */
export const sessionEndsAt = (startsAt: Date, durationMinutes: number): number =>
  startsAt.getTime() + durationMinutes * 60_000;
/** sessionEndsAt over `sessions s join movies m`. */
const SESSION_ENDS_AT_SQL = `s.starts_at + m.duration_minutes * interval '1 minute'`;

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Movies, rooms, sessions and their seats. Sessions and their seats never change once created,
 * so their layout is cached per process (an unknown id is remembered as unknown for a couple of
 * seconds); each page of the list of sessions (which grows, and loses sessions as they end) is
 * cached for `listTtlSeconds`. Seat status is read live from Redis; a session's serialised
 * seat map is reused only while Redis says nothing in it changed (seat-map-cache.ts).
 */
export class Catalogue {
  private readonly layouts = new LRUCache<string, Promise<SessionLayout>>({ max: 10_000 });
  private readonly unknownSessions = unknownIds();
  private readonly seatKeysBySession = new WeakMap<SessionLayout, string[]>();
  /** When each session ends (ms): kept beside the layout, which is the session as served. */
  private readonly endOfSession = new WeakMap<SessionLayout, number>();
  private readonly sessionPages: LRUCache<string, { ids: string[]; next?: SessionListPosition }>;
  private readonly seatMaps: SeatMapCache;

  constructor(
    private readonly orm: Orm,
    private readonly redis: RedisClient,
    listTtlSeconds: number,
  ) {
    this.seatMaps = new SeatMapCache(redis, holdScripts(redis));
    this.sessionPages = new LRUCache({
      max: 1_000,
      ttl: Math.max(listTtlSeconds, 0) * 1000 || 1,
    });
  }

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
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
    // No need to forget the id as unknown: it was drawn at random just now, so nobody can have
    // asked for it before.
    this.sessionPages.clear();
    const layout = await this.sessionLayout(session.id);
    return {
      ...withoutSeats(layout),
      seatsTotal: layout.seats.length,
      seatsAvailable: layout.seats.length,
    };
  }

  /**
   * Sessions soonest first, that have not ended (unless `date` is a past day), at most `limit`
   * after `after`. Each session's seats are counted live, so a page costs one MGET per session
   * listed, bounded by `limit`.
   */
  async listSessions(
    filter: SessionFilter,
    { limit, after }: { limit: number; after?: SessionListPosition },
  ): Promise<SessionPage> {
    const page = await this.sessionPage(filter, limit, after);
    const layouts = await Promise.all(page.ids.map((id) => this.sessionLayout(id)));
    const maps = await this.withLiveStatus(layouts);
    return { items: maps.map(({ seats: _seats, ...summary }) => summary), next: page.next };
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
    const sessions = await this.em().find(
      Session,
      {},
      { orderBy: { startsAt: 'asc', id: 'asc' }, fields: ['id'] },
    );
    const layouts = await Promise.all(sessions.map(({ id }) => this.sessionLayout(id)));
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
      if (this.unknownSessions.has(sessionId))
        return Promise.reject(notFound('session', sessionId));
      layout = this.loadLayout(sessionId);
      this.layouts.set(sessionId, layout);
      layout.catch(() => this.layouts.delete(sessionId));
    }
    return layout;
  }

  /** The layout of a session that has not ended: one that has is as unknown as a made-up id. */
  async upcomingSessionLayout(sessionId: string): Promise<SessionLayout> {
    const layout = await this.sessionLayout(sessionId);
    if (Date.now() >= this.endOfSession.get(layout)!) throw notFound('session', sessionId);
    return layout;
  }

  private async loadLayout(sessionId: string): Promise<SessionLayout> {
    const em = this.em();
    const session = await em.findOne(Session, sessionId, { populate: ['movie', 'room'] });
    if (!session) {
      this.unknownSessions.set(sessionId, true);
      throw notFound('session', sessionId);
    }
    const seats: SeatView[] = await em
      .getConnection()
      .execute('select id, label, "row", number from session_seats where session_id = ?', [
        sessionId,
      ]);
    const layout: SessionLayout = {
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
    this.endOfSession.set(layout, sessionEndsAt(session.startsAt, session.movie.durationMinutes));
    return layout;
  }

  /**
   * The ids of one page of the list, by keyset (startsAt, id): a page deep in the list costs
   * what the first does (the starts_at index), and sessions added or ended between two pages
   * neither repeat nor hide one. One more row than asked says whether a next page exists.
   */
  private async sessionPage(
    { movieId, date }: SessionFilter,
    limit: number,
    after?: SessionListPosition,
  ): Promise<{ ids: string[]; next?: SessionListPosition }> {
    const cacheKey = JSON.stringify([movieId, date, limit, after?.startsAt, after?.id]);
    const cached = this.sessionPages.get(cacheKey);
    if (cached) return cached;
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (date === undefined || date >= utcDay(Date.now())) {
      conditions.push(`${SESSION_ENDS_AT_SQL} > now()`);
    }
    if (movieId !== undefined) {
      conditions.push('s.movie_id = ?');
      values.push(movieId);
    }
    if (date !== undefined) {
      const start = new Date(`${date}T00:00:00.000Z`);
      conditions.push('s.starts_at >= ? and s.starts_at < ?');
      values.push(start, new Date(start.getTime() + 24 * 60 * 60 * 1000));
    }
    if (after) {
      conditions.push('(s.starts_at, s.id) > (?, ?)');
      values.push(new Date(after.startsAt), after.id);
    }
    const rows: { id: string; starts_at: Date }[] = await this.em()
      .getConnection()
      .execute(
        `select s.id, s.starts_at from sessions s join movies m on m.id = s.movie_id
         ${conditions.length > 0 ? `where ${conditions.join(' and ')}` : ''}
         order by s.starts_at, s.id limit ?`,
        [...values, limit + 1],
      );
    const shown = rows.slice(0, limit);
    const last = shown.at(-1);
    const page = {
      ids: shown.map((row) => row.id),
      next:
        rows.length > limit && last
          ? { startsAt: new Date(last.starts_at).toISOString(), id: last.id }
          : undefined,
    };
    this.sessionPages.set(cacheKey, page);
    return page;
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
