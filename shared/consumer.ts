import type { ConfirmChannel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import type { EventEnvelope } from './events';
import { runWithLogContext, withoutStatement, type Logger } from './logger';
import { beforeScrape, consumerLag, consumerMessages } from './metrics';
import { deadLetterQueue, declareTopology, retryQueue, type ConsumerQueue } from './topology';

export interface Delivery<T> {
  envelope: EventEnvelope;
  body: T;
}

/** A message the handler refuses for good (it will never succeed): dead-lettered with `reason`. */
export interface Rejection<T> {
  delivery: Delivery<T>;
  reason: string;
}

export interface ConsumerOptions<T> {
  /** The queue consumed, as shared/topology.ts declares it. */
  queue: ConsumerQueue;
  /** Messages handled together (one transaction for the finaliser). */
  batchSize: number;
  /** Deliveries before a message is dead-lettered. */
  maxAttempts: number;
  /** First retry delay; doubles per attempt, up to 30 s. */
  retryBaseMs: number;
  /** Turns an envelope into the handler's input; a throw marks the message poison (→ DLQ). */
  parse: (envelope: EventEnvelope) => T;
  /**
   * Handles a batch and returns the messages it refuses for good (→ DLQ at once, no retry). After
   * a throw each message of a multi-message batch is handled again on its own, and only those
   * that still throw go to retry (so the handler must be idempotent).
   */
  handle: (batch: Delivery<T>[]) => Promise<Rejection<T>[] | void>;
}

interface Outcome {
  failed: { msg: ConsumeMessage; err: Error }[];
  rejected: { msg: ConsumeMessage; reason: string }[];
}

const MAX_RETRY_DELAY_MS = 30_000;
const ATTEMPTS_HEADER = 'x-attempts';

/**
 * A RabbitMQ consumer with the safety a sale needs: manual acks (a message is acknowledged only
 * once its effects are committed), batches of whatever arrived while the previous batch was
 * handled, up to `batchSize`, under a prefetch of twice that, retries with exponential backoff
 * through a TTL'd retry queue that dead-letters back into the main queue, and a `.dlq` for messages that keep failing or cannot be parsed — never dropped.
 * It re-attaches after amqplib's recovery reconnects. Handlers must be idempotent: delivery is
 * at least once.
 */
export class EventConsumer<T> {
  private channel?: ConfirmChannel;
  private consumerTag?: string;
  private buffer: ConsumeMessage[] = [];
  private flushTimer?: NodeJS.Timeout;
  private inFlight: Promise<void> = Promise.resolve();
  /** A batch is queued behind the one in hand (flush). */
  private batchQueued = false;
  private stopping = false;
  private stopWatchingLag?: () => void;

  private readonly queue: string;

  constructor(
    private readonly connection: RecoveringChannelModel,
    private readonly logger: Logger,
    private readonly options: ConsumerOptions<T>,
  ) {
    this.queue = options.queue.name;
  }

  async start(): Promise<void> {
    await this.attach();
    const { queue } = this;
    this.stopWatchingLag = beforeScrape(async () => {
      if (this.channel)
        consumerLag.set({ queue }, (await this.channel.checkQueue(queue)).messageCount);
    });
    this.connection.on('connect', () => {
      if (!this.stopping) {
        this.attach().catch((err: Error) =>
          this.logger.error('consumer re-attach failed', { err: err.message }),
        );
      }
    });
  }

  /** Stops taking messages, finishes the batch in hand, closes the channel. Unacked messages
   * (none, if the batch finished) go back to the queue for another copy. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopWatchingLag?.();
    const channel = this.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    this.flush();
    // A batch may queue the next one (what it left of the buffer): wait for the last.
    for (let last = this.inFlight; ; last = this.inFlight) {
      await last;
      if (last === this.inFlight) break;
    }
    await channel?.close().catch(() => undefined);
  }

  private async attach(): Promise<void> {
    const { queue } = this;
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', (err: Error) =>
      this.logger.warn('consumer channel error', { queue, err: err.message }),
    );
    // The connection's setup declared it too; again here, in case an operator deleted a queue.
    await declareTopology(channel);
    await channel.prefetch(this.options.batchSize * 2);
    this.buffer = [];
    this.channel = channel;
    const { consumerTag } = await channel.consume(queue, (msg) => msg && this.receive(msg), {
      noAck: false,
    });
    this.consumerTag = consumerTag;
    this.logger.info('consuming', { queue });
  }

  private receive(msg: ConsumeMessage): void {
    if (msg.fields.redelivered) consumerMessages.inc({ queue: this.queue, result: 'redelivered' });
    this.buffer.push(msg);
    if (this.buffer.length >= this.options.batchSize) this.flush();
    // A short wait lets a burst fill the batch; a lone message waits at most this long.
    else this.flushTimer ??= setTimeout(() => this.flush(), 5);
  }

  /**
   * Queues the next batch behind the one in hand. What it holds is decided when its turn comes:
   * everything that arrived meanwhile (up to batchSize), so under load batches grow by
   * themselves and the per-batch work (a transaction, its queries) is shared by more messages.
   */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.buffer.length === 0 || !this.channel || this.batchQueued) return;
    this.batchQueued = true;
    this.inFlight = this.inFlight.then(async () => {
      this.batchQueued = false;
      const channel = this.channel;
      const batch = this.buffer.splice(0, this.options.batchSize);
      if (channel && batch.length > 0) await this.process(channel, batch);
      if (this.buffer.length > 0) this.flush();
    });
  }

  private async process(channel: ConfirmChannel, messages: ConsumeMessage[]): Promise<void> {
    const deliveries: Delivery<T>[] = [];
    const poison: ConsumeMessage[] = [];
    const good: ConsumeMessage[] = [];
    for (const msg of messages) {
      try {
        const envelope = JSON.parse(msg.content.toString()) as EventEnvelope;
        deliveries.push({ envelope, body: this.options.parse(envelope) });
        good.push(msg);
      } catch {
        poison.push(msg);
      }
    }
    try {
      for (const msg of poison)
        this.republish(channel, deadLetterQueue(this.queue), msg, 'unparseable');
      const { failed, rejected }: Outcome =
        deliveries.length > 0
          ? await runWithLogContext(
              {
                queue: this.queue,
                messageIds: deliveries.map((d) => d.envelope.id).join(','),
              },
              () => this.handleIsolatingFailures(deliveries, good),
            )
          : { failed: [], rejected: [] };
      for (const { msg, err } of failed) this.scheduleRetry(channel, msg, err);
      for (const { msg, reason } of rejected)
        this.republish(channel, deadLetterQueue(this.queue), msg, reason);
      await channel.waitForConfirms();
      for (const msg of messages) channel.ack(msg);
      consumerMessages.inc(
        { queue: this.queue, result: 'acked' },
        deliveries.length - failed.length - rejected.length,
      );
    } catch (err) {
      // Publishing the retries or acknowledging failed (the channel is closing, most likely).
      this.logger.warn('could not settle the batch with the broker; retrying its messages', {
        queue: this.queue,
        count: good.length,
        err: (err as Error).message,
      });
      await this.retry(channel, good, poison, err as Error);
    }
  }

  /**
   * Handles the batch; if it fails and holds more than one message, handles each alone, so one
   * message that keeps failing (a bad reference, a bug) is retried and dead-lettered by itself
   * instead of dragging the good messages of its batch along, attempt after attempt (they would
   * come back from the retry queue together, fail together, and reach the DLQ together).
   * Returns the messages that failed, with their errors, and those the handler refused.
   */
  private async handleIsolatingFailures(
    deliveries: Delivery<T>[],
    messages: ConsumeMessage[],
  ): Promise<Outcome> {
    const outcome: Outcome = { failed: [], rejected: [] };
    const handle = async (batch: Delivery<T>[]) => {
      for (const { delivery, reason } of (await this.options.handle(batch)) ?? []) {
        outcome.rejected.push({ msg: messages[deliveries.indexOf(delivery)]!, reason });
      }
    };
    try {
      await handle(deliveries);
      return outcome;
    } catch (err) {
      outcome.rejected = [];
      if (deliveries.length === 1)
        return { ...outcome, failed: [{ msg: messages[0]!, err: err as Error }] };
      this.logger.warn('batch failed; handling its messages one by one', {
        queue: this.queue,
        count: deliveries.length,
        err,
      });
    }
    for (const [i, delivery] of deliveries.entries()) {
      try {
        await handle([delivery]);
      } catch (err) {
        outcome.failed.push({ msg: messages[i]!, err: err as Error });
      }
    }
    if (outcome.failed.length > 0) {
      this.logger.warn('messages failed; retrying them', {
        queue: this.queue,
        count: outcome.failed.length,
        err: outcome.failed[0]!.err,
      });
    }
    return outcome;
  }

  /** Sends a failed message to the retry queue with its backoff, or to the DLQ after the last attempt. */
  private scheduleRetry(channel: ConfirmChannel, msg: ConsumeMessage, err: Error): void {
    const attempts = Number(msg.properties.headers?.[ATTEMPTS_HEADER] ?? 0) + 1;
    if (attempts >= this.options.maxAttempts) {
      this.republish(channel, deadLetterQueue(this.queue), msg, err.message, attempts);
    } else {
      const delay = Math.min(this.options.retryBaseMs * 2 ** (attempts - 1), MAX_RETRY_DELAY_MS);
      this.republish(channel, retryQueue(this.queue), msg, err.message, attempts, delay);
    }
  }

  private async retry(
    channel: ConfirmChannel,
    good: ConsumeMessage[],
    poison: ConsumeMessage[],
    err: Error,
  ) {
    try {
      for (const msg of good) this.scheduleRetry(channel, msg, err);
      await channel.waitForConfirms();
      for (const msg of [...good, ...poison]) channel.ack(msg);
    } catch (publishErr) {
      // The channel is gone: unacked messages return to the queue on their own.
      this.logger.error('could not schedule retries', { err: (publishErr as Error).message });
    }
  }

  private republish(
    channel: ConfirmChannel,
    queue: string,
    msg: ConsumeMessage,
    reason: string,
    attempts = Number(msg.properties.headers?.[ATTEMPTS_HEADER] ?? 0),
    delayMs?: number,
  ): void {
    consumerMessages.inc({
      queue: this.queue,
      result: queue === deadLetterQueue(this.queue) ? 'dead_lettered' : 'retried',
    });
    channel.sendToQueue(queue, msg.content, {
      ...msg.properties,
      persistent: true,
      headers: {
        ...msg.properties.headers,
        [ATTEMPTS_HEADER]: attempts,
        // Read by operators beside the DLQ: no SQL text or values, as in the logs.
        'x-last-error': withoutStatement(reason).slice(0, 500),
      },
      ...(delayMs !== undefined ? { expiration: String(delayMs) } : { expiration: undefined }),
    });
  }
}
