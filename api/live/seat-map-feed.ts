import { seatLogKey } from '../../shared/holds/keys';
import type { Logger } from '../../shared/logger';
import { liveMapSubscribers } from '../../shared/metrics';
import type { RedisClient } from '../../shared/redis';

/** A position in a session's seat log: a Redis stream id, `<ms>-<seq>`; '0-0' is "before all". */
export type LogPosition = string;
export const LOG_START: LogPosition = '0-0';

/** One change-log entry: its position and its `{"changes":[…]}` JSON, as the scripts wrote it. */
export type SeatLogEntry = [position: LogPosition, data: string];

export const isLogPosition = (value: string) => /^\d{1,20}-\d{1,20}$/.test(value);

/** Orders stream ids: negative when a < b. */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

/** Someone following a session's seat changes from a position on (an SSE client). */
export interface SeatLogSubscriber {
  /**
   * Entries after the subscriber's position, in order; never one it has had, never a gap. Every
   * subscriber that is up to date gets the same array for one read of the log, so what it is
   * turned into can be computed once per read (the SSE route encodes it once for all clients).
   */
  deliver(entries: readonly SeatLogEntry[]): void;
  /** The feed is closing (the process is stopping): end the client's stream. */
  end(): void;
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

const dataOf = (fields: string[]): string => fields[fields.indexOf('data') + 1] ?? '{}';

/**
 * Follows each session's seat change log (`seatlog:{sid}`, appended by the hold scripts) for
 * the live seat maps of this API process. A session is read once, by one blocking XREAD on a
 * connection of its own, however many clients of it this process serves; reading stops, and the
 * connection closes, when its last client leaves. A client that joins later catches up from its
 * own position with one XRANGE, so nobody misses an entry or gets one twice.
 */
export class SeatMapFeed {
  private readonly readers = new Map<string, SessionReader>();
  private readonly timing: { blockMs: number; batchMs: number };

  /**
   * `batchMs`: after handing out what one read brought, a session's reader waits until this
   * long after that read returned before reading again, so a burst of changes goes out as one write per
   * client rather than one per change (a first change after a quiet spell goes out at once).
   * `blockMs`: how long one blocking read waits for a change.
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    { blockMs = 5_000, batchMs = 0 }: { blockMs?: number; batchMs?: number } = {},
  ) {
    this.timing = { blockMs, batchMs };
  }

  /**
   * Starts delivering the entries of `sessionId` after `from`. Resolves once the subscriber has
   * caught up; the returned function unsubscribes.
   */
  async subscribe(
    sessionId: string,
    from: LogPosition,
    subscriber: SeatLogSubscriber,
  ): Promise<() => void> {
    let reader = this.readers.get(sessionId);
    if (!reader) {
      reader = new SessionReader(sessionId, this.redis.duplicate(), this.logger, this.timing, () =>
        this.readers.delete(sessionId),
      );
      this.readers.set(sessionId, reader);
    }
    const member = new Member(subscriber, from);
    liveMapSubscribers.inc();
    try {
      // The reader knows where it starts before this subscriber reads what came before that.
      await reader.add(member);
      // Whatever the reader already passed, read for this subscriber alone; live entries that
      // arrive meanwhile wait in its queue and are deduplicated by position.
      const missed = await this.redis.xrange(seatLogKey(sessionId), `(${from}`, '+');
      member.catchUp(missed.map(([id, fields]) => [id, dataOf(fields)]));
    } catch (err) {
      reader.remove(member);
      liveMapSubscribers.dec();
      throw err;
    }
    return () => {
      if (reader.remove(member)) liveMapSubscribers.dec();
    };
  }

  /**
   * Whether every entry after `position` is still in the log (it is capped: old entries go).
   * Trimming leaves no trace of which ids went, so a position before the first entry left is
   * trusted only while nothing was ever trimmed; otherwise the client gets a new snapshot.
   */
  async canResumeFrom(sessionId: string, position: LogPosition): Promise<boolean> {
    const info = (await this.redis.xinfo('STREAM', seatLogKey(sessionId)).catch(() => null)) as
      unknown[] | null;
    if (!info) return position === LOG_START;
    const field = (name: string) => info[info.indexOf(name) + 1];
    const neverTrimmed = Number(field('entries-added')) === Number(field('length'));
    const first = (field('first-entry') as [string] | null)?.[0];
    return neverTrimmed || (first !== undefined && comparePositions(position, first) >= 0);
  }

  /** The position of the newest entry of the session's log ('0-0' when it has none). */
  async head(sessionId: string): Promise<LogPosition> {
    const [last] = await this.redis.xrevrange(seatLogKey(sessionId), '+', '-', 'COUNT', 1);
    return last?.[0] ?? LOG_START;
  }

  /** Sessions being read right now (for tests and metrics). */
  get activeSessions(): number {
    return this.readers.size;
  }

  async close(): Promise<void> {
    await Promise.all([...this.readers.values()].map((reader) => reader.stop()));
  }
}

/** A subscriber and its position: it is given only entries after what it has. */
class Member {
  private caughtUp = false;
  private pending: SeatLogEntry[] = [];

  constructor(
    private readonly subscriber: SeatLogSubscriber,
    private position: LogPosition,
  ) {}

  end(): void {
    this.subscriber.end();
  }

  /** Live entries from the session's reader. */
  offer(entries: readonly SeatLogEntry[]): void {
    if (this.caughtUp) this.pass(entries);
    else this.pending.push(...entries);
  }

  catchUp(missed: readonly SeatLogEntry[]): void {
    this.pass(missed);
    const pending = this.pending;
    this.pending = [];
    this.caughtUp = true;
    this.pass(pending);
  }

  private pass(entries: readonly SeatLogEntry[]): void {
    // Entries are in order: when the first is new to this member, all are, and it gets the
    // reader's own array (shared by every member that is up to date).
    const fresh =
      entries.length > 0 && comparePositions(entries[0]![0], this.position) > 0
        ? entries
        : entries.filter(([id]) => comparePositions(id, this.position) > 0);
    if (fresh.length === 0) return;
    this.position = fresh[fresh.length - 1]![0];
    this.subscriber.deliver(fresh);
  }
}

/** One blocking reader of one session's log, alive while the session has subscribers here. */
class SessionReader {
  private readonly members = new Set<Member>();
  private cursor: LogPosition = LOG_START;
  private started?: Promise<void>;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly sessionId: string,
    private readonly connection: RedisClient,
    private readonly logger: Logger,
    private readonly timing: { blockMs: number; batchMs: number },
    private readonly onStop: () => void,
  ) {
    // Errors surface in the read loop; this keeps an idle reconnect from being unhandled.
    connection.on('error', () => undefined);
  }

  /** Adds a member; resolves once the reader has its starting position. */
  add(member: Member): Promise<void> {
    this.members.add(member);
    this.started ??= this.start();
    return this.started;
  }

  /** Returns whether it was a member. The last one to leave stops the reader. */
  remove(member: Member): boolean {
    const was = this.members.delete(member);
    if (this.members.size === 0) void this.stop();
    return was;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const member of this.members) member.end();
    this.onStop();
    // Ends a blocking XREAD at once.
    this.connection.disconnect();
    await this.running?.catch(() => undefined);
  }

  /** From the newest entry now: each subscriber fetches anything older itself (catchUp). */
  private async start(): Promise<void> {
    const key = seatLogKey(this.sessionId);
    const [last] = await this.connection.xrevrange(key, '+', '-', 'COUNT', 1);
    this.cursor = last?.[0] ?? LOG_START;
    this.running = this.loop(key);
  }

  private async loop(key: string): Promise<void> {
    while (!this.stopped) {
      let reply: StreamReply;
      try {
        reply = (await this.connection.xread(
          'COUNT',
          5_000,
          'BLOCK',
          this.timing.blockMs,
          'STREAMS',
          key,
          this.cursor,
        )) as StreamReply;
      } catch (err) {
        if (this.stopped) return;
        this.logger.warn('seat log read failed; retrying', {
          sessionId: this.sessionId,
          err: (err as Error).message,
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      const entries: SeatLogEntry[] = (reply?.[0]?.[1] ?? []).map(([id, fields]) => [
        id,
        dataOf(fields),
      ]);
      if (entries.length === 0) continue;
      const readAt = Date.now();
      this.cursor = entries[entries.length - 1]![0];
      for (const member of this.members) member.offer(entries);
      const rest = readAt + this.timing.batchMs - Date.now();
      if (rest > 0 && !this.stopped) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  }
}
