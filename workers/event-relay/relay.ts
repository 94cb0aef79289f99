import { hostname } from 'node:os';
import { envelopeFromStreamEntry, type EventEnvelope } from '../../shared/events';
import { EVENT_STREAMS_KEY } from '../../shared/holds/keys';
import type { Logger } from '../../shared/logger';
import type { EventPublisher } from '../../shared/rabbitmq';
import { RelayLoop } from './relay-loop';
import { isCluster, type RedisClient } from '../../shared/redis';

const GROUP = 'event-relay';
const BATCH = 200;
const BLOCK_MS = 1_000;
/** An entry read by a relay that has not acknowledged it for this long is taken over. */
const CLAIM_IDLE_MS = 15_000;
const CLAIM_EVERY_MS = 5_000;
const RETRY_DELAY_MS = 500;
/** On a cluster, how long a relay that found nothing waits before it reads every stream again. */
const CLUSTER_POLL_MS = 50;

export interface EventRelayOptions {
  /** How long an entry read by another relay may stay unacknowledged before it is taken over. */
  claimIdleMs?: number;
  /** How often a relay looks for such entries. */
  claimEveryMs?: number;
}

type StreamReply = [stream: string, entries: [id: string, fields: string[] | null][]][];

const toFields = (flat: string[]) => {
  const fields: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
};

/**
 * Moves events from the per-session Redis streams (written atomically by the hold scripts) to
 * RabbitMQ. An entry is acknowledged and deleted only after the broker confirmed it, so a crash
 * at any point means "published again", never "lost"; the event id is derived from the entry,
 * so consumers recognise the duplicate. Copies share one consumer group: each entry goes to one
 * of them, and one that died has its unacknowledged entries claimed by the others.
 */
export class EventRelay extends RelayLoop {
  private readonly consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly knownStreams = new Set<string>();
  private lastClaimAt = 0;
  private retryOwnPending = false;
  private readonly claimIdleMs: number;
  private readonly claimEveryMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly publisher: EventPublisher,
    logger: Logger,
    { claimIdleMs = CLAIM_IDLE_MS, claimEveryMs = CLAIM_EVERY_MS }: EventRelayOptions = {},
  ) {
    // No pause after a good round: the blocking read waits for new entries by itself.
    super(logger, RETRY_DELAY_MS, 0);
    this.claimIdleMs = claimIdleMs;
    this.claimEveryMs = claimEveryMs;
  }

  protected override onRoundFailed(err: Error): void {
    // Entries read but not acknowledged (their publish failed) stay pending under this
    // consumer, where '>' never returns them: the next round retries them first.
    this.retryOwnPending = true;
    // A stream or group that vanished (Redis restarted without its data) is set up again.
    if (err.message.includes('NOGROUP')) this.knownStreams.clear();
  }

  /**
   * One round: after a failed round, its own unacknowledged entries first (in order, before any
   * newer one); abandoned entries of other relays now and then; then new ones (blocking up to 1 s).
   */
  async relayOnce(): Promise<number> {
    const streams = await this.streams();
    if (streams.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, BLOCK_MS));
      return 0;
    }
    let relayed = 0;
    if (this.retryOwnPending) {
      relayed += await this.relayOwnPending(streams);
      this.retryOwnPending = false;
    }
    if (Date.now() - this.lastClaimAt >= this.claimEveryMs) {
      this.lastClaimAt = Date.now();
      for (const stream of streams) relayed += await this.relayAbandoned(stream);
    }
    return relayed + (await this.relay((await this.readGroup(streams, '>', BLOCK_MS)) ?? []));
  }

  /**
   * XREADGROUP on every stream from `id` ('>' new entries, '0' this consumer's pending ones). A
   * cluster refuses one read across slots, and each session's stream has a slot of its own, so
   * there every stream is read by its own non-blocking call (all at once; the client batches
   * them per master), and a read that wanted to block and found nothing pauses briefly instead.
   */
  private async readGroup(streams: string[], id: '>' | '0', blockMs?: number) {
    if (!isCluster(this.redis)) return this.xreadgroup(streams, id, blockMs);
    const replies = await Promise.all(streams.map((stream) => this.xreadgroup([stream], id)));
    const reply = replies.flatMap((one) => one ?? []);
    if (blockMs !== undefined && reply.every(([, entries]) => entries.length === 0))
      await new Promise((resolve) => setTimeout(resolve, Math.min(blockMs, CLUSTER_POLL_MS)));
    return reply;
  }

  private async xreadgroup(streams: string[], id: '>' | '0', blockMs?: number) {
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    return (await this.redis.xreadgroup(
      'GROUP',
      GROUP,
      this.consumer,
      'COUNT',
      BATCH,
      ...(block as ['BLOCK', number]),
      'STREAMS',
      ...streams,
      ...streams.map(() => id),
    )) as StreamReply | null;
  }

  private async streams(): Promise<string[]> {
    const streams = await this.redis.smembers(EVENT_STREAMS_KEY);
    for (const stream of streams) {
      if (this.knownStreams.has(stream)) continue;
      try {
        // From the start ('0'): events appended before any relay ran are relayed too.
        await this.redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
      } catch (err) {
        if (!(err as Error).message.includes('BUSYGROUP')) throw err;
      }
      // A blocking read joins the group at once; a poll (on a cluster) joins only once it is
      // served, so a copy that lost every race so far would be missing from XINFO CONSUMERS.
      if (isCluster(this.redis))
        await this.redis.xgroup('CREATECONSUMER', stream, GROUP, this.consumer);
      this.knownStreams.add(stream);
    }
    return streams;
  }

  private async relayAbandoned(stream: string): Promise<number> {
    const [, entries] = (await this.redis.xautoclaim(
      stream,
      GROUP,
      this.consumer,
      this.claimIdleMs,
      '0-0',
      'COUNT',
      BATCH,
    )) as [string, [string, string[] | null][]];
    return this.relay([[stream, entries]]);
  }

  /** This consumer's pending entries (id '0' instead of '>'), oldest first, until none is left. */
  private async relayOwnPending(streams: string[]): Promise<number> {
    let relayed = 0;
    for (;;) {
      const read = await this.relay((await this.readGroup(streams, '0')) ?? []);
      if (read === 0) return relayed;
      relayed += read;
    }
  }

  /**
   * Publishes the entries of every stream a read returned in one confirmed batch, then
   * acknowledges and deletes them, every stream in one round trip. Holds spread over many
   * sessions leave a few entries in each of many streams: a publish (and its wait for the
   * broker's confirms) per stream cost the relay four times the CPU of the same holds in one
   * session. An entry deleted while it was pending comes back without fields: there is nothing
   * to publish, but it is acknowledged all the same.
   */
  private async relay(reply: StreamReply): Promise<number> {
    const read = reply.filter(([, entries]) => entries.length > 0);
    if (read.length === 0) return 0;
    const events: EventEnvelope[] = read.flatMap(([stream, entries]) =>
      entries
        .filter((entry): entry is [string, string[]] => entry[1] !== null)
        .map(([id, flat]) => envelopeFromStreamEntry(stream, id, toFields(flat))),
    );
    await this.publisher.publish(events);
    let count = 0;
    await Promise.all(
      read.map(([stream, entries]) => {
        const ids = entries.map(([id]) => id);
        count += ids.length;
        return this.redis
          .multi()
          .xack(stream, GROUP, ...ids)
          .xdel(stream, ...ids)
          .exec();
      }),
    );
    this.logger.debug('events relayed', { streams: read.length, count });
    return count;
  }
}
