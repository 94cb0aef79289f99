import {
  connect,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type RecoveringChannelModel,
} from 'amqplib';
import { EVENTS_EXCHANGE, type EventEnvelope } from './events';
import type { Logger } from './logger';
import { eventsReturned } from './metrics';
import { declareTopology, mustBeRouted } from './topology';

/**
 * A RabbitMQ connection that heals itself, through amqplib's own opt-in recovery: after a drop
 * it reconnects with exponential backoff and runs `setup` again, which declares the whole
 * topology (shared/topology.ts) before anything is published or consumed on the new connection.
 * Start-up fails fast (a wrong URL should stop the deployment); once up, it never gives up.
 */
export async function connectRabbit(url: string, logger: Logger): Promise<RecoveringChannelModel> {
  const connection = await connect(url, {
    recovery: {
      initialDelay: 100,
      maxDelay: 5_000,
      initialMaxRetries: 10,
      maxRetries: Infinity,
      setup: async (model: ChannelModel) => {
        const channel = await model.createChannel();
        await declareTopology(channel);
        await channel.close();
      },
    },
  });
  connection.on('disconnect', (err: Error) =>
    logger.warn('rabbitmq disconnected', { err: err?.message }),
  );
  connection.on('connect', () => logger.info('rabbitmq connected'));
  connection.on('error', (err: Error) =>
    logger.warn('rabbitmq connection error', { err: err.message }),
  );
  return connection;
}

/** Some events came back from the broker unrouted: they were not published. */
export class UnroutableEventsError extends Error {
  constructor(readonly eventIds: string[]) {
    super(`${eventIds.length} event(s) could not be routed to their queues`);
    this.name = 'UnroutableEventsError';
  }
}

/**
 * Publishes events as persistent messages and waits for the broker's confirms: an event counts
 * as published only once RabbitMQ has taken responsibility for it. Events a consumer of ours
 * must receive go `mandatory`, and one the broker hands back (basic.return, which it sends before
 * that message's ack) makes the whole call fail, so the caller keeps its source and retries. The
 * confirm channel is reopened after a reconnect.
 */
export class EventPublisher {
  private channel?: Promise<ConfirmChannel>;
  /** Ids of mandatory messages the broker returned, until the publish that sent them looks. */
  private readonly returned = new Set<string>();

  constructor(
    private readonly connection: RecoveringChannelModel,
    private readonly logger: Logger,
  ) {
    connection.on('disconnect', () => {
      this.channel = undefined;
    });
  }

  private confirmChannel(): Promise<ConfirmChannel> {
    this.channel ??= this.connection.createConfirmChannel().then((channel) => {
      const forget = () => {
        this.channel = undefined;
      };
      channel.on('close', forget);
      channel.on('error', (err: Error) => {
        this.logger.warn('rabbitmq channel error', { err: err.message });
        forget();
      });
      channel.on('return', (msg: ConsumeMessage) => {
        const id = msg.properties.messageId as string | undefined;
        if (id) this.returned.add(id);
      });
      return channel;
    });
    this.channel.catch(() => {
      this.channel = undefined;
    });
    return this.channel;
  }

  /** Resolves when every event is confirmed and routed; rejects if any is not (retry them all). */
  async publish(events: EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    const channel = await this.confirmChannel();
    for (const event of events) {
      channel.publish(EVENTS_EXCHANGE, event.type, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        mandatory: mustBeRouted(event.type),
        contentType: 'application/json',
        messageId: event.id,
        type: event.type,
        timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
      });
    }
    const confirmed = await channel.waitForConfirms().then(
      () => undefined,
      (err: Error) => err,
    );
    // Looked at whether or not the confirms came, so the set never keeps a failed call's ids.
    const unroutable = events.filter((e) => this.returned.delete(e.id)).map((e) => e.id);
    if (unroutable.length > 0) {
      eventsReturned.inc(unroutable.length);
      this.logger.error('events returned unrouted; they will be retried', { eventIds: unroutable });
      throw new UnroutableEventsError(unroutable);
    }
    if (confirmed) throw confirmed;
  }
}
