import { randomUUID } from 'node:crypto';
import type { RecoveringChannelModel } from 'amqplib';
import { EventConsumer } from '../../shared/consumer';
import { eventIdFor, type EventEnvelope } from '../../shared/events';
import { connectRabbit, EventPublisher } from '../../shared/rabbitmq';
import { CONSUMER_QUEUES } from '../../shared/topology';
import { silentLogger } from '../support/database';
import { createTestVhost, type TestVhost } from '../support/rabbitmq';
import { waitFor } from '../support/wait';

/** The consumer's batches against a real RabbitMQ, in a vhost of this file's own. */
let vhost: TestVhost;
let rabbit: RecoveringChannelModel;
beforeAll(async () => {
  vhost = await createTestVhost();
  rabbit = await connectRabbit(vhost.url, silentLogger);
});
afterAll(async () => {
  await rabbit?.close().catch(() => undefined);
  await vhost?.delete();
});

const completedSale = (): EventEnvelope => ({
  id: eventIdFor(`order.completed/${randomUUID()}`),
  type: 'order.completed',
  occurredAt: new Date().toISOString(),
  data: { orderId: randomUUID() },
});

describe('consumer batches', () => {
  it('when messages arrive while a batch is being handled, then the next batch takes all of them at once, and stopping waits for it', async () => {
    const batches: string[][] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const consumer = new EventConsumer<string>(rabbit, silentLogger, {
      queue: CONSUMER_QUEUES.notifier,
      batchSize: 50,
      maxAttempts: 3,
      retryBaseMs: 100,
      parse: (envelope) => envelope.id,
      handle: async (batch) => {
        batches.push(batch.map((d) => d.body));
        if (batches.length === 1) await firstHeld;
      },
    });
    await consumer.start();
    const publisher = new EventPublisher(rabbit, silentLogger);
    await publisher.publish([completedSale()]);
    await waitFor(() => batches.length === 1, { what: 'the first batch' });

    // Twelve more arrive over time, four at a time, each group later than the 5 ms a lone
    // message waits for company: cut by that wait, they would make three batches of four.
    const meanwhile = Array.from({ length: 12 }, completedSale);
    for (let group = 0; group < 3; group++) {
      await publisher.publish(meanwhile.slice(group * 4, group * 4 + 4));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // All twelve are in the consumer's hands (prefetch 100) before the first batch ends.
    await waitFor(
      async () => {
        const channel = await rabbit.createChannel();
        try {
          const { messageCount } = await channel.checkQueue(CONSUMER_QUEUES.notifier.name);
          return messageCount === 0;
        } finally {
          await channel.close();
        }
      },
      { what: 'the queue handed every message out' },
    );
    releaseFirst();
    await consumer.stop();

    expect(batches).toHaveLength(2);
    expect(batches[1]).toEqual(meanwhile.map((e) => e.id));
  });
});
