import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { EVENTS_EXCHANGE, type EventEnvelope } from '../../shared/events';

const rabbitmqctl = (...args: string[]) => promisify(execFile)('rabbitmqctl', ['-q', ...args]);

export interface TestVhost {
  url: string;
  name: string;
  delete: () => Promise<void>;
}

/** A RabbitMQ vhost of this test file's own (`cine_test_*`), so exchanges and queues never mix. */
export async function createTestVhost(): Promise<TestVhost> {
  const name = `cine_test_${randomBytes(6).toString('hex')}`;
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
  return {
    name,
    url: `amqp://guest:guest@127.0.0.1:5672/${name}`,
    delete: async () => {
      await rabbitmqctl('delete_vhost', name);
    },
  };
}

/**
 * A queue bound to every event on `cine.events`, collecting what arrives, for tests that check
 * which events a flow emits and how many times.
 */
export class EventSpy {
  readonly events: EventEnvelope[] = [];
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
  ) {}

  static async attach(url: string, bindingKey = '#'): Promise<EventSpy> {
    const connection = await connect(url);
    const channel = await connection.createChannel();
    await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, EVENTS_EXCHANGE, bindingKey);
    const spy = new EventSpy(connection, channel);
    await channel.consume(
      queue,
      (msg: ConsumeMessage | null) => {
        if (msg) spy.events.push(JSON.parse(msg.content.toString()) as EventEnvelope);
      },
      { noAck: true },
    );
    return spy;
  }

  ofType(type: string): EventEnvelope[] {
    return this.events.filter((e) => e.type === type);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
