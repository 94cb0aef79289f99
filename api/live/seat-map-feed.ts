import { seatLogKey } from '../../shared/holds/keys';
import type { Logger } from '../../shared/logger';
import { liveMapSubscribers } from '../../shared/metrics';
import { isCluster, type RedisClient } from '../../shared/redis';

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

/** The name the reader's own connection goes by in CLIENT LIST. */
export const FEED_CONNECTION_NAME = 'seat-map-feed';
/** The most entries one read takes from one session's log. */
const READ_COUNT = 5_000;
/** On a cluster, how long the reader that found nothing waits before it reads every log again. */
const CLUSTER_POLL_MS = 50;
/** How long to wait before trying again to interrupt a blocking read that had not reached Redis. */
const UNBLOCK_RETRY_MS = 5;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows the seat change logs (`seatlog:{sid}`, appended by the hold scripts) of every session
 * this API process serves live maps of. All of them are read by one reader, however many
 * sessions and clients there are: on one Redis server one connection of its own does one
 * blocking XREAD over every watched log; on a cluster, where one XREAD may name keys of one slot
 * only (and each session's log has a slot of its own), the cluster client's own connections read
 * each log without blocking and pause briefly when nothing came. So the Redis connections a
 * process uses for streams never grow with the sessions watched: one, or none beyond the
 * cluster client's one per master. The reader runs only while some session is watched. A client
 * that joins later catches up from its own position with one XRANGE, so nobody misses an entry
 * or gets one twice.
 */
export class SeatMapFeed {
  private readonly watched = new Map<string, WatchedLog>();
  private reader?: LogReader;
  private readonly timing: { blockMs: number; batchMs: number };

  /**
   * `batchMs`: after handing out what one read brought, the reader waits until this long after
   * that read returned before reading again, so a burst of changes goes out as one write per
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
    let log = this.watched.get(sessionId);
    if (!log) {
      log = new WatchedLog(seatLogKey(sessionId));
      this.watched.set(sessionId, log);
      log.started = this.startWatching(log);
    }
    const member = new Member(subscriber, from);
    log.members.add(member);
    liveMapSubscribers.inc();
    const unsubscribe = () => {
      if (!log.members.delete(member)) return;
      liveMapSubscribers.dec();
      if (log.members.size === 0 && this.watched.get(sessionId) === log) {
        this.watched.delete(sessionId);
        if (this.watched.size === 0) this.stopReader();
      }
    };
    try {
      // The reader knows where the log starts before this subscriber reads what came before.
      await log.started;
      // Whatever the reader already passed, read for this subscriber alone; live entries that
      // arrive meanwhile wait in its queue and are deduplicated by position.
      const missed = await this.redis.xrange(log.key, `(${from}`, '+');
      member.catchUp(missed.map(([id, fields]) => [id, dataOf(fields)]));
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  /** From the newest entry now: each subscriber fetches anything older itself (catchUp). */
  private async startWatching(log: WatchedLog): Promise<void> {
    const [last] = await this.redis.xrevrange(log.key, '+', '-', 'COUNT', 1);
    log.cursor = last?.[0] ?? LOG_START;
    if (this.watched.size === 0) return; // everyone left (or the feed closed) meanwhile
    this.reader ??= new LogReader(this.redis, this.logger, this.timing, this.watched);
    this.reader.changed();
  }

  private stopReader(): void {
    void this.reader?.stop();
    this.reader = undefined;
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
    return this.watched.size;
  }

  /** Ends every subscriber's stream and stops reading. */
  async close(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    const logs = [...this.watched.values()];
    this.watched.clear();
    for (const log of logs) for (const member of log.members) member.end();
    await reader?.stop();
  }
}

/** One watched session's log: where the reader is in it, and who follows it here. */
class WatchedLog {
  readonly members = new Set<Member>();
  /** Unset until the log's newest entry is known: the reader skips the log until then. */
  cursor?: LogPosition;
  started!: Promise<void>;

  constructor(readonly key: string) {}

  /** Hands out one read's entries (in order, after the cursor) to every member. */
  offer(entries: readonly SeatLogEntry[]): void {
    this.cursor = entries[entries.length - 1]![0];
    for (const member of this.members) member.offer(entries);
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

  /** Live entries from the reader. */
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

/**
 * The one reader of every watched log, alive while some session is watched. On one server it
 * blocks on a connection of its own; when the set of logs changes, it is interrupted with
 * CLIENT UNBLOCK (from the shared connection) so a newly watched session is read at once,
 * rather than after the current read's timeout.
 */
class LogReader {
  /** Bumped whenever the set of watched logs changes. */
  private generation = 0;
  /** The generation of the blocking read in flight, if one is. */
  private blockedOn?: number;
  private readonly connection?: RedisClient;
  private connectionId?: number;
  private stopped = false;
  private readonly running: Promise<void>;
  private wakePoll?: () => void;

  constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
    private readonly timing: { blockMs: number; batchMs: number },
    private readonly watched: ReadonlyMap<string, WatchedLog>,
  ) {
    if (!isCluster(redis)) {
      const connection = redis.duplicate({ connectionName: FEED_CONNECTION_NAME });
      // Errors surface in the read loop; this keeps an idle reconnect from being unhandled.
      connection.on('error', () => undefined);
      // A reconnected connection has a new id.
      connection.on('close', () => (this.connectionId = undefined));
      this.connection = connection;
    }
    this.running = this.loop();
  }

  /** The set of watched logs changed: the next read must name the new set. */
  changed(): void {
    this.generation++;
    this.wakePoll?.();
    void this.interrupt().catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wakePoll?.();
    // Ends a blocking XREAD at once.
    this.connection?.disconnect();
    await this.running.catch(() => undefined);
  }

  /**
   * Ends the blocking read in flight if it names an older set. The unblock travels on another
   * connection than the read, so it can reach Redis first and find nobody blocked: then it is
   * sent again until the read is ended or a read of the current set has replaced it, or until
   * the read would have timed out anyway (a read stuck behind a reconnect is not chased).
   */
  private async interrupt(): Promise<void> {
    const wanted = this.generation;
    const giveUpAt = Date.now() + this.timing.blockMs;
    while (
      !this.stopped &&
      this.blockedOn !== undefined &&
      this.blockedOn < wanted &&
      Date.now() < giveUpAt
    ) {
      if (this.connectionId !== undefined) {
        const unblocked = await this.redis.client('UNBLOCK', this.connectionId);
        if (unblocked === 1) return;
      }
      await pause(UNBLOCK_RETRY_MS);
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let read: [WatchedLog, SeatLogEntry[]][];
      try {
        read = await this.read();
      } catch (err) {
        if (this.stopped) return;
        this.logger.warn('seat log read failed; retrying', { err: (err as Error).message });
        await pause(200);
        continue;
      }
      if (read.length === 0) continue;
      const readAt = Date.now();
      for (const [log, entries] of read) log.offer(entries);
      const rest = readAt + this.timing.batchMs - Date.now();
      if (rest > 0 && !this.stopped) await pause(rest);
    }
  }

  /** One read of every watched log whose start is known: what each brought, if anything. */
  private async read(): Promise<[WatchedLog, SeatLogEntry[]][]> {
    const generation = this.generation;
    const logs = [...this.watched.values()].filter((log) => log.cursor !== undefined);
    if (logs.length === 0) {
      await this.idle(this.timing.blockMs);
      return [];
    }
    const byKey = new Map(logs.map((log) => [log.key, log]));
    if (this.connection) return entriesOf(await this.blockingRead(logs, generation), byKey);
    const replies = await Promise.all(logs.map((log) => this.xread(this.redis, [log])));
    const read = replies.flatMap((reply) => entriesOf(reply, byKey));
    if (read.length === 0) await this.idle(CLUSTER_POLL_MS);
    return read;
  }

  private async blockingRead(logs: WatchedLog[], generation: number): Promise<StreamReply> {
    const connection = this.connection!;
    this.connectionId ??= Number(await connection.client('ID'));
    // The set changed while the id was fetched: read the new one instead.
    if (generation !== this.generation) return null;
    this.blockedOn = generation;
    try {
      return await this.xread(connection, logs, this.timing.blockMs);
    } finally {
      this.blockedOn = undefined;
    }
  }

  private xread(client: RedisClient, logs: WatchedLog[], blockMs?: number) {
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    return client.xread(
      'COUNT',
      READ_COUNT,
      ...(block as ['BLOCK', number]),
      'STREAMS',
      ...logs.map((log) => log.key),
      ...logs.map((log) => log.cursor!),
    ) as Promise<StreamReply>;
  }

  /** Waits `ms`, or until the set of watched logs changes (or the reader stops). */
  private async idle(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakePoll = done;
    });
    this.wakePoll = undefined;
  }
}

function entriesOf(
  reply: StreamReply,
  byKey: ReadonlyMap<string, WatchedLog>,
): [WatchedLog, SeatLogEntry[]][] {
  const read: [WatchedLog, SeatLogEntry[]][] = [];
  for (const [key, raw] of reply ?? []) {
    const log = byKey.get(key);
    if (log && raw.length > 0) read.push([log, raw.map(([id, fields]) => [id, dataOf(fields)])]);
  }
  return read;
}
