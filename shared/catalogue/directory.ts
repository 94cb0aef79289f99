import type { EntityManager } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import type { Orm } from '../db/orm';

/** How long a "no such id" answer is trusted before Postgres is asked again. */
const UNKNOWN_ID_TTL_MS = 2_000;

/**
 * Ids Postgres just said do not exist, remembered briefly and boundedly: a flood of made-up ids
 * costs at most one query per id every couple of seconds, not one per request, and an id
 * created meanwhile by another process is found once its entry has expired.
 */
export const unknownIds = () =>
  new LRUCache<string, true>({ max: 100_000, ttl: UNKNOWN_ID_TTL_MS });
/** How long "this user exists" is trusted before Postgres is asked again. */
const KNOWN_USER_TTL_MS = 60_000;
/**
 * Users remembered at most: only the development-only seed routes name a buyer by id alone (a
 * signed-in buyer's token proves the account), so a small LRU of about 150 bytes an entry (a
 * UUID key and the LRU's bookkeeping), some 1.5 MB at most, is plenty.
 */
const KNOWN_USERS_MAX = 10_000;

/**
 * Answers from memory the questions a hold asks of the catalogue: which session a seat belongs
 * to and, for a buyer named by id alone, whether that user exists. A seat never moves, so that
 * answer is kept for the life of the process, warmed at start; "exists" is trusted for a minute.
 * Misses are asked of Postgres once and remembered briefly, so a flood of made-up ids costs at
 * most one query per id every couple of seconds, not one per request.
 */
export class Directory {
  private readonly sessionOfSeat = new Map<string, string>();
  private readonly knownUsers = new LRUCache<string, true>({
    max: KNOWN_USERS_MAX,
    ttl: KNOWN_USER_TTL_MS,
  });
  private readonly unknown = unknownIds();

  constructor(private readonly orm: Orm) {}

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /** Loads every seat of sessions that have not ended (started in the last day). */
  async warmUp(): Promise<void> {
    const connection = this.em().getConnection();
    const seats: { id: string; session_id: string }[] = await connection.execute(
      `select ss.id, ss.session_id from session_seats ss join sessions s on s.id = ss.session_id
       where s.starts_at > now() - interval '1 day'`,
    );
    for (const seat of seats) this.sessionOfSeat.set(seat.id, seat.session_id);
  }

  /** The session of each seat; seats that do not exist are left out of the map. */
  async sessionsOfSeats(seatIds: readonly string[]): Promise<Map<string, string>> {
    const missing = seatIds.filter((id) => !this.sessionOfSeat.has(id) && !this.unknown.has(id));
    if (missing.length > 0) {
      const rows: { id: string; session_id: string }[] = await this.em()
        .getConnection()
        .execute('select id, session_id from session_seats where id in (?)', [missing]);
      for (const row of rows) this.sessionOfSeat.set(row.id, row.session_id);
      for (const id of missing) if (!this.sessionOfSeat.has(id)) this.unknown.set(id, true);
    }
    const found = new Map<string, string>();
    for (const id of seatIds) {
      const sessionId = this.sessionOfSeat.get(id);
      if (sessionId) found.set(id, sessionId);
    }
    return found;
  }

  async userExists(userId: string): Promise<boolean> {
    if (this.knownUsers.has(userId)) return true;
    if (this.unknown.has(userId)) return false;
    const rows = await this.em()
      .getConnection()
      .execute('select 1 from users where id = ?', [userId]);
    if (rows.length > 0) this.knownUsers.set(userId, true);
    else this.unknown.set(userId, true);
    return rows.length > 0;
  }
}
