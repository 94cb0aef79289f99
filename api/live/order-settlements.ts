import { ORDER_SETTLED_CHANNEL } from '../../shared/holds/keys';
import type { Logger } from '../../shared/logger';
import type { RedisClient } from '../../shared/redis';

/**
 * Wakes requests waiting for an order to leave `processing` (`GET /api/v1/orders/:orderId` with
 * `Prefer: wait=N`, §4.3). Every outcome of a payment (paid, failed, declined) is applied to its
 * hold by scripts/settle-hold.lua after Postgres has it, and the script publishes the order id
 * on ORDER_SETTLED_CHANNEL; this process listens with one subscription, however many requests
 * wait, and wakes those waiting for that order. Pub/sub reaches every API instance, so it does
 * not matter which one the client reached.
 */
export class OrderSettlements {
  private readonly waiting = new Map<string, Set<() => void>>();
  private subscriber?: RedisClient;
  private subscribed?: Promise<unknown>;

  /** Opens nothing until a request waits; closes with `redis` (or with close()). */
  constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
  ) {
    redis.once('end', () => void this.close());
  }

  /**
   * Starts watching `orderId`: once this resolves, the subscription is in place, so an order
   * read after it and found `processing` cannot be settled unseen. `until(ms)` resolves when the
   * order is settled, after `ms`, or when the process stops; `stop()` ends the watch.
   */
  async watch(orderId: string): Promise<{ until(ms: number): Promise<void>; stop(): void }> {
    await this.subscribe();
    let wake!: () => void;
    const settled = new Promise<void>((resolve) => (wake = resolve));
    let waiters = this.waiting.get(orderId);
    if (!waiters) this.waiting.set(orderId, (waiters = new Set()));
    waiters.add(wake);
    let timer: NodeJS.Timeout | undefined;
    return {
      until: (ms) => {
        timer = setTimeout(wake, ms);
        return settled;
      },
      stop: () => {
        clearTimeout(timer);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiting.get(orderId) === waiters) {
          this.waiting.delete(orderId);
        }
      },
    };
  }

  /** Requests waiting right now (for tests). */
  get waiters(): number {
    return [...this.waiting.values()].reduce((sum, waiters) => sum + waiters.size, 0);
  }

  /** Wakes every waiting request (each answers with the order as it is) and unsubscribes. */
  async close(): Promise<void> {
    for (const waiters of this.waiting.values()) for (const wake of waiters) wake();
    this.waiting.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    this.subscribed = undefined;
  }

  private subscribe(): Promise<unknown> {
    if (!this.subscribed) {
      const subscriber = this.redis.duplicate();
      subscriber.on('error', (err: Error) =>
        this.logger.warn('order settlement subscription failed; reconnecting', {
          err: err.message,
        }),
      );
      subscriber.on('message', (_channel: string, orderId: string) => {
        for (const wake of this.waiting.get(orderId) ?? []) wake();
      });
      this.subscriber = subscriber;
      this.subscribed = subscriber.subscribe(ORDER_SETTLED_CHANNEL).catch((err: Error) => {
        this.subscribed = undefined;
        subscriber.disconnect();
        throw err;
      });
    }
    return this.subscribed;
  }
}
