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
 * the version is the same and the deadline has not come: one `GET` of the version instead of
 * reading, building and serialising every seat. Nothing stale is ever served: a request reads
 * the version after whatever its client did before it.
 */
export class SeatMapCache {
  private readonly snapshots = new LRUCache<string, Snapshot>({ max: 10_000 });

  constructor(
    private readonly redis: RedisClient,
    private readonly scripts: HoldScripts,
  ) {}

  /**
   * The session's seat map as JSON: `render` builds it from the live status of each seat key
   * (in `seatKeys` order) when the snapshot cached for the session is no longer true.
   */
  async json(
    sessionId: string,
    seatKeys: readonly string[],
    render: (statuses: SeatStatus[]) => unknown,
  ): Promise<Buffer> {
    const cached = this.snapshots.get(sessionId);
    if (cached) {
      const version = await this.redis.get(seatMapVersionKey(sessionId));
      if (version === cached.version && Date.now() < cached.validUntil) return cached.json;
    }
    // The remaining time is counted from before the read: never later than Redis's own clock.
    const readAt = Date.now();
    const [version, msUntilNextExpiry, ...values] = (await this.scripts.readSeatMap(
      [seatMapVersionKey(sessionId), holdDeadlinesKey(sessionId), ...seatKeys],
      [],
    )) as [string, number, ...(string | null)[]];
    const json = Buffer.from(JSON.stringify(render(values.map(statusOf))));
    const latest = this.snapshots.get(sessionId);
    // A session with no version yet (nothing ever held, or Redis lost its data) is not cached:
    // its first change would create a version nothing can compare with.
    if (version !== '' && (!latest || Number(version) >= Number(latest.version))) {
      this.snapshots.set(sessionId, {
        version,
        validUntil: msUntilNextExpiry < 0 ? Infinity : readAt + msUntilNextExpiry,
        json,
      });
    }
    return json;
  }
}
