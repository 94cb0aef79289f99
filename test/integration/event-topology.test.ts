import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { connect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { eventIdFor, type EventEnvelope, type EventType } from '../../shared/events';
import { connectRabbit, EventPublisher, UnroutableEventsError } from '../../shared/rabbitmq';
import { CONSUMER_QUEUES, deadLetterQueue, retryQueue } from '../../shared/topology';
import { silentLogger } from '../support/database';
import { createTestVhost, type TestVhost } from '../support/rabbitmq';
import { waitFor } from '../support/wait';

/**
 * The broker's topology against a real RabbitMQ, one fresh vhost per test: a publisher that
 * starts first has already made the queues its messages are meant for, and a message that must
 * reach a consumer and cannot is not counted as published.
 */
let vhost: TestVhost;
let rabbit: RecoveringChannelModel;
let inspector: ChannelModel;
beforeEach(async () => {
  vhost = await createTestVhost();
  rabbit = await connectRabbit(vhost.url, silentLogger);
  inspector = await connect(vhost.url);
});
afterEach(async () => {
  await inspector?.close().catch(() => undefined);
  await rabbit?.close().catch(() => undefined);
  await vhost?.delete();
});

const event = (type: EventType): EventEnvelope => ({
  id: eventIdFor(`${type}/${randomUUID()}`),
  type,
  occurredAt: new Date().toISOString(),
  data: { orderId: randomUUID() },
});
const depth = async (queue: string) => {
  const channel = await inspector.createChannel();
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await channel.close();
  }
};

describe('event topology', () => {
  it('when a publisher connects to a fresh broker before any consumer ever ran, then every consumer queue exists and payment.approved waits in the finaliser queue', async () => {
    const publisher = new EventPublisher(rabbit, silentLogger);
    await publisher.publish([event('payment.approved'), event('payment.approved')]);
    await publisher.publish([event('order.completed')]);

    expect(await depth(CONSUMER_QUEUES.finaliser.name)).toBe(2);
    expect(await depth(CONSUMER_QUEUES.notifier.name)).toBe(1);
    for (const { name } of Object.values(CONSUMER_QUEUES)) {
      expect(await depth(retryQueue(name))).toBe(0);
      expect(await depth(deadLetterQueue(name))).toBe(0);
    }
  });

  it('when a queue a message must reach is gone, then the broker returns it and publish fails; after a reconnect the topology is back and the same publish lands', async () => {
    const publisher = new EventPublisher(rabbit, silentLogger);
    const admin = await inspector.createChannel();
    await admin.deleteQueue(CONSUMER_QUEUES.finaliser.name);
    const approval = event('payment.approved');

    await expect(publisher.publish([event('hold.created'), approval])).rejects.toBeInstanceOf(
      UnroutableEventsError,
    );
    // Events no consumer of ours needs are not mandatory: no queue is no failure.
    await expect(publisher.publish([event('hold.created')])).resolves.toBeUndefined();

    const reconnected = new Promise((resolve) => rabbit.once('connect', resolve));
    await promisify(execFile)('rabbitmqctl', [
      '-q',
      'close_all_connections',
      '-p',
      vhost.name,
      'test: reconnect',
    ]);
    await reconnected;
    inspector = await connect(vhost.url);
    await waitFor(
      () =>
        publisher.publish([approval]).then(
          () => true,
          () => false,
        ),
      { what: 'a publish on the recovered connection' },
    );
    expect(await depth(CONSUMER_QUEUES.finaliser.name)).toBe(1);
  });
});
