import { LRUCache } from 'lru-cache';
import { holdDeadlinesKey, seatMapVersionKey } from '../holds/keys';
import type { HoldScripts } from '../holds/scripts';
import type { RedisClient } from '../redis';
import { statusOf, type SeatStatus } from './seat-status';

interface Snapshot {
  /** The session's seat-map version when the statuses were read. */
  version: string;
  /** This process's clock (ms) past which a held seat may have turned free by its TTL. */
  validUntil: number;
  json: Buffer;
}

/**
 * Serialised seat maps, reused while they are still true. A seat's status changes in two ways
 * only: a hold script changes it, and bumps the session's seat-map version in the same atomic
 * step (scripts/includes/common.lua); or a held seat's TTL runs out, which is never sooner than
 * the earliest deadline of the session's live holds. So a snapshot read together with the
 * version and that deadline (scripts/read-seat-map.lua, one atomic read) is served again while
 * the version is unchanged and the deadline has not come: one `GET` of the version instead of
 * reading, building and serialising every seat. Nothing stale is ever served: each request
 * reads the version after whatever its client did before, and takes a snapshot only if it is at
 * least that version. Requests that find the map changed share one read of it (the first
 * seconds after a change would otherwise read it once per request in flight).
 */
export class SeatMapCache {
  private readonly snapshots = new LRUCache<string, Snapshot>({ max: 10_000 });
  private readonly reads = new Map<string, Promise<Snapshot>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly scripts: HoldScripts,
  ) {}

  /**
   * The session's seat map as JSON: `render` builds it from the live status of each seat key
   * (in `seatKeys` order) when no snapshot of the session is still true.
   */
  async json(
    sessionId: string,
    seatKeys: readonly string[],
    render: (statuses: SeatStatus[]) => unknown,
  ): Promise<Buffer> {
    if (this.snapshots.has(sessionId) || this.reads.has(sessionId)) {
      const version = await this.redis.get(seatMapVersionKey(sessionId));
      const cached = this.snapshots.get(sessionId);
      if (cached && isCurrent(cached, version)) return cached.json;
      const reading = this.reads.get(sessionId);
      if (reading) {
        const shared = await reading;
        if (isCurrent(shared, version)) return shared.json;
      }
    }
    return (await this.read(sessionId, seatKeys, render)).json;
  }

  private read(
    sessionId: string,
    seatKeys: readonly string[],
    render: (statuses: SeatStatus[]) => unknown,
  ): Promise<Snapshot> {
    const reading = (async () => {
      // The remaining time is counted from before the read: never later than Redis's own clock.
      const readAt = Date.now();
      const [version, msUntilNextExpiry, ...values] = (await this.scripts.readSeatMap(
        [seatMapVersionKey(sessionId), holdDeadlinesKey(sessionId), ...seatKeys],
        [],
      )) as [string, number, ...(string | null)[]];
      const snapshot = {
        version,
        validUntil: msUntilNextExpiry < 0 ? Infinity : readAt + msUntilNextExpiry,
        json: Buffer.from(JSON.stringify(render(values.map(statusOf)))),
      };
      const latest = this.snapshots.get(sessionId);
      // A session with no version yet (nothing ever held, or Redis lost its data) is not cached:
      // its first change would create a version nothing can compare with.
      if (version !== '' && (!latest || Number(version) >= Number(latest.version))) {
        this.snapshots.set(sessionId, snapshot);
      }
      return snapshot;
    })();
    this.reads.set(sessionId, reading);
    const done = () => {
      if (this.reads.get(sessionId) === reading) this.reads.delete(sessionId);
    };
    reading.then(done, done);
    return reading;
  }
}

/**
 * Whether a snapshot still tells the truth to a request that read `version` (null: the session
 * has none): it was read at that version or later, and no held seat has turned free since.
 */
function isCurrent(snapshot: Snapshot, version: string | null): boolean {
  return (
    version !== null &&
    snapshot.version !== '' &&
    Number(snapshot.version) >= Number(version) &&
    Date.now() < snapshot.validUntil
  );
}
