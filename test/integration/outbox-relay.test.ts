import { randomUUID } from 'node:crypto';
import { OutboxEvent } from '../../shared/db/entities';
import { connectRabbit, EventPublisher } from '../../shared/rabbitmq';
import { OutboxRelay } from '../../workers/event-relay/outbox-relay';
import { createTestDatabase, silentLogger, type TestDatabase } from '../support/database';
import { createTestVhost, EventSpy, type TestVhost } from '../support/rabbitmq';
import { waitFor } from '../support/wait';

let db: TestDatabase;
let vhost: TestVhost;
let spy: EventSpy;
let rabbit: Awaited<ReturnType<typeof connectRabbit>>;
let relay: OutboxRelay;

beforeAll(async () => {
  db = await createTestDatabase({ seed: false });
  vhost = await createTestVhost();
  rabbit = await connectRabbit(vhost.url, silentLogger);
  spy = await EventSpy.attach(vhost.url);
  relay = new OutboxRelay(db.orm, new EventPublisher(rabbit, silentLogger), silentLogger);
});
afterAll(async () => {
  await spy.close();
  await rabbit.close();
  await vhost.delete();
  await db.drop();
});

async function writeOutbox(count: number): Promise<string[]> {
  const em = db.orm.em.fork();
  const ids = Array.from({ length: count }, () => randomUUID());
  for (const id of ids)
    em.create(OutboxEvent, { id, type: 'order.completed', payload: { orderId: id } });
  await em.flush();
  return ids;
}

const unpublished = () => db.orm.em.fork().count(OutboxEvent, { publishedAt: null });

describe('the outbox relay', () => {
  it('when events wait in the outbox, then each is published once and marked published', async () => {
    const ids = await writeOutbox(3);
    expect(await relay.relayOnce()).toBe(3);
    expect(await unpublished()).toBe(0);
    expect(await relay.relayOnce()).toBe(0);
    await waitFor(() => spy.events.length >= 3, { what: 'three events' });
    expect(spy.events.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(spy.events[0]).toMatchObject({
      type: 'order.completed',
      data: { orderId: expect.any(String) },
    });
  });

  it('when two relays drain at once, then no event is published twice', async () => {
    spy.events.length = 0;
    const ids = await writeOutbox(450);
    const other = new OutboxRelay(db.orm, new EventPublisher(rabbit, silentLogger), silentLogger);
    let published = 0;
    while ((await unpublished()) > 0) {
      const counts = await Promise.all([relay.relayOnce(), other.relayOnce()]);
      published += counts[0] + counts[1];
    }
    expect(published).toBe(450);
    await waitFor(() => spy.events.length >= 450, { what: '450 events' });
    expect(new Set(spy.events.map((e) => e.id)).size).toBe(450);
    expect(spy.events.filter((e) => ids.includes(e.id))).toHaveLength(450);
  });

  it('runs as a loop that picks up new events until stopped', async () => {
    spy.events.length = 0;
    relay.start();
    const [id] = await writeOutbox(1);
    await waitFor(() => spy.events.some((e) => e.id === id), { what: 'the relayed event' });
    await relay.stop();
    expect(await unpublished()).toBe(0);
  });
});
