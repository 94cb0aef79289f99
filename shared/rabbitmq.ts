import {
  connect,
  type ChannelModel,
  type ConfirmChannel,
  type RecoveringChannelModel,
} from 'amqplib';
import { EVENTS_EXCHANGE, type EventEnvelope } from './events';
import type { Logger } from './logger';

/**
 * A RabbitMQ connection that heals itself, through amqplib's own opt-in recovery: after a drop
 * it reconnects with exponential backoff and runs `setup` again to re-declare the topology.
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
        await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
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

/**
 * Publishes events as persistent messages and waits for the broker's confirms: an event counts
 * as published only once RabbitMQ has taken responsibility for it. The confirm channel is
 * reopened after a reconnect.
 */
export class EventPublisher {
  private channel?: Promise<ConfirmChannel>;

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
      return channel;
    });
    this.channel.catch(() => {
      this.channel = undefined;
    });
    return this.channel;
  }

  /** Resolves when every event is confirmed; rejects if any is not (the caller retries all). */
  async publish(events: EventEnvelope[]): Promise<void> {
    if (events.length === 0) return;
    const channel = await this.confirmChannel();
    for (const event of events) {
      channel.publish(EVENTS_EXCHANGE, event.type, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        contentType: 'application/json',
        messageId: event.id,
        type: event.type,
        timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
      });
    }
    await channel.waitForConfirms();
  }
}
