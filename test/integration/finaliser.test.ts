import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { connect, type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';
import request from 'supertest';
import { asOwnerOf } from '../support/buyers';
import { CONSUMER_QUEUES, deadLetterQueue } from '../../shared/topology';
import { Order, OutboxEvent, Payment, ProcessedMessage, Ticket } from '../../shared/db/entities';
import { EVENTS_EXCHANGE, eventIdFor, type EventEnvelope } from '../../shared/events';
import { holdKey, seatKey } from '../../shared/holds/keys';
import type { PaymentApproved } from '../../shared/orders/contracts';
import { FINALISER } from '../../shared/payments/finalise-payments';
import { eventRelayWorker } from '../../workers/event-relay/worker';
import { createFinaliserWorker } from '../../workers/finaliser/worker';
import { startTestApi, type TestApi } from '../support/api';
import { confirmedHold, Dealer, seededCinema, type Hold, type SeatMap } from '../support/cinema';
import { createTestVhost, EventSpy, type TestVhost } from '../support/rabbitmq';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { waitFor } from '../support/wait';
import { startWorkers } from '../support/workers';

/**
 * The finaliser alone (plus the event relay, for the outbox), fed hand-made `payment.approved`
 * messages. No payment worker runs, so a hold paid through the API stays `paying` until the
 * message this file publishes for it is finalised.
 *
 * Its own Redis db (not the per-Jest-worker one): the relay drains every stream of its db and
 * BullMQ queues are per db, so nothing running elsewhere may share it.
 */
const FINALISER_QUEUE = CONSUMER_QUEUES.finaliser.name;
const MAX_ATTEMPTS = 4;
const RETRY_BASE_MS = 100;
const DLQ = deadLetterQueue(FINALISER_QUEUE);

interface PayingHold extends Hold {
  orderId: string;
}

let vhost: TestVhost;
let redisDb: OwnRedisDb;
let api: TestApi;
let spy: EventSpy;
let workers: { stop: () => Promise<void> };
let rabbit: ChannelModel;
let channel: ConfirmChannel;
let session: SeatMap;
/** Hands out seats no other test in this file has used, and the seeded users in turn. */
let dealer: Dealer;

beforeAll(async () => {
  redisDb = await claimRedisDb();
  vhost = await createTestVhost();
  api = await startTestApi({ RABBITMQ_URL: vhost.url, REDIS_DB: redisDb.db });
  await redisDb.mark();
  // Not the payment.approved messages this file publishes: some are not even JSON.
  spy = await EventSpy.attach(vhost.url, 'order.*');
  workers = await startWorkers(api.db.config, [
    createFinaliserWorker({ maxAttempts: MAX_ATTEMPTS, retryBaseMs: RETRY_BASE_MS }),
    eventRelayWorker,
  ]);
  rabbit = await connect(vhost.url);
  channel = await rabbit.createConfirmChannel();
  const cinema = await seededCinema(api.app);
  session = cinema.big;
  dealer = new Dealer(session.seats, cinema.users);
});
afterAll(async () => {
  await rabbit?.close();
  await workers?.stop();
  await spy?.close();
  await api?.close();
  await redisDb?.release();
  await vhost?.delete();
});

const http = () => request(api.app);
const em = () => api.db.orm.em.fork();

/** A real hold, confirmed and paid through the API: `paying` in Redis, its job left unrun. */
async function payingHold(seatIds: string[], userId = dealer.someUser()): Promise<PayingHold> {
  const hold = await confirmedHold(api.app, userId, seatIds);
  const paid = await http()
    .post(`/api/v1/holds/${hold.holdId}/payment`)
    .set(asOwnerOf(hold))
    .send({ method: 'pix' })
    .expect(202);
  return { ...hold, userId, orderId: paid.body.orderId };
}

/** What the payment worker would publish for an approved charge of `hold`. */
function approvedFor(
  hold: Pick<PayingHold, 'orderId' | 'holdId' | 'sessionId' | 'userId' | 'seatIds'>,
): EventEnvelope<PaymentApproved> {
  return {
    id: eventIdFor(`payment.approved/${hold.orderId}`),
    type: 'payment.approved',
    occurredAt: new Date().toISOString(),
    data: {
      orderId: hold.orderId,
      holdId: hold.holdId,
      sessionId: hold.sessionId,
      userId: hold.userId,
      seatIds: hold.seatIds,
      totalCents: session.priceCents * hold.seatIds.length,
      currency: 'BRL',
      method: 'pix',
      cardLast4: null,
      gatewayReference: `sim_ch_${hold.orderId.slice(0, 8)}`,
      requestedAt: Date.now(),
    },
  };
}

/**
 * A real paying hold whose buyer Postgres does not know (Redis says so, the database disagrees):
 * its approval matches the hold, and then the sale keeps failing on the foreign key.
 */
async function saleOfUnknownBuyer(): Promise<EventEnvelope<PaymentApproved>> {
  const hold = await payingHold(dealer.freshSeats(1));
  const stranger = randomUUID();
  await api.redis.hset(holdKey(hold.sessionId, hold.holdId), 'userId', stranger);
  return approvedFor({ ...hold, userId: stranger });
}

/** A sale that exists only in the message: no hold in Redis (so it is refused). */
const craftedSale = (overrides: Partial<PaymentApproved> = {}) =>
  approvedFor({
    orderId: randomUUID(),
    holdId: randomUUID(),
    sessionId: session.id,
    userId: dealer.someUser(),
    seatIds: dealer.freshSeats(1),
    ...overrides,
  });

async function publish(...bodies: (EventEnvelope<object> | Buffer)[]): Promise<void> {
  for (const body of bodies) {
    channel.publish(
      EVENTS_EXCHANGE,
      'payment.approved',
      Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)),
      { persistent: true, contentType: 'application/json' },
    );
  }
  await channel.waitForConfirms();
}

const orderStatus = async (orderId: string) =>
  (await em().findOne(Order, orderId, { fields: ['status'] }))?.status;
const orderEnds = (orderId: string, status: string, timeoutMs?: number) =>
  waitFor(async () => (await orderStatus(orderId)) === status, {
    what: `order ${orderId} ${status}`,
    timeoutMs,
  });

/** Messages in a queue, ready and unacknowledged (a consumer may hold some). */
async function queueDepth(queue: string): Promise<number> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', [
    '-q',
    'list_queues',
    '-p',
    vhost.name,
    'name',
    'messages',
  ]);
  const row = stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find(([name]) => name === queue);
  if (!row) throw new Error(`no queue ${queue} in ${vhost.name}`);
  return Number(row[1]);
}
/** Every copy published so far has been handled and acknowledged (or moved on). */
const drained = () =>
  waitFor(
    async () =>
      (await queueDepth(FINALISER_QUEUE)) === 0 &&
      (await queueDepth(`${FINALISER_QUEUE}.retry`)) === 0,
    { what: 'finaliser queues drained' },
  );
const outboxFlushed = () =>
  waitFor(async () => (await em().count(OutboxEvent, { publishedAt: null })) === 0, {
    what: 'outbox relayed',
  });

/** Dead letters taken off the DLQ so far, by every test of this file. */
const deadLetters: GetMessage[] = [];
async function deadLettered(match: (body: string) => boolean, what: string): Promise<GetMessage> {
  return waitFor(
    async () => {
      for (let msg = await channel.get(DLQ, { noAck: true }); msg;) {
        deadLetters.push(msg);
        msg = await channel.get(DLQ, { noAck: true });
      }
      return deadLetters.find((m) => match(m.content.toString()));
    },
    { what },
  );
}

const eventsFor = (type: string, orderId: string) =>
  spy.ofType(type).filter((e) => e.data.orderId === orderId);
const seatStatus = async (seatId: string) => {
  const map = (await http().get(`/api/v1/sessions/${session.id}`)).body;
  return map.seats.find((s: { id: string }) => s.id === seatId).status as string;
};
const holdStage = async (hold: Hold) =>
  (await http().get(`/api/v1/holds/${hold.holdId}`).set(asOwnerOf(hold))).body.stage as string;

describe('finaliser', () => {
  it.each([
    ['in one batch', false],
    ['in two batches', true],
  ])(
    'when two paid orders claim the same seat (%s), then one is paid with the only ticket and the other fails and is refunded',
    async (_, oneAfterTheOther) => {
      const [seat] = dealer.freshSeats(1);
      const first = await payingHold([seat!]);
      // Redis loses the seat (a failover without the latest writes), so a second buyer holds,
      // confirms and pays for it too: only Postgres's unique index is left to refuse the sale.
      await api.redis.del(seatKey(session.id, seat!));
      const second = await payingHold([seat!]);
      expect(second.userId).not.toBe(first.userId);

      if (oneAfterTheOther) {
        await publish(approvedFor(first));
        await orderEnds(first.orderId, 'paid');
        await publish(approvedFor(second));
      } else {
        await publish(approvedFor(first), approvedFor(second));
      }
      const outcomes = await waitFor(
        async () => {
          const both = await Promise.all([orderStatus(first.orderId), orderStatus(second.orderId)]);
          return both.every(Boolean) && both;
        },
        { what: 'both orders written' },
      );
      expect([...outcomes].sort()).toEqual(['failed', 'paid']);
      const [winner, loser] = outcomes[0] === 'paid' ? [first, second] : [second, first];
      if (oneAfterTheOther) expect(winner).toBe(first);

      const db = em();
      const tickets = await db.find(Ticket, { seat: seat!, status: 'active' });
      expect(tickets).toHaveLength(1);
      expect(tickets[0]!.order.id).toBe(winner.orderId);
      expect(await db.count(Ticket, { order: loser.orderId })).toBe(0);
      expect(await db.findOneOrFail(Payment, { order: winner.orderId })).toMatchObject({
        status: 'approved',
      });
      expect(await db.findOneOrFail(Payment, { order: loser.orderId })).toMatchObject({
        status: 'refunded',
        refundedAt: expect.any(Date),
      });
      expect(await db.findOneOrFail(Order, loser.orderId)).toMatchObject({
        status: 'failed',
        paidAt: null,
        refundedAt: expect.any(Date),
      });

      // Redis agrees: the seat is the winner's for good; the loser's hold is over.
      await waitFor(async () => (await holdStage(loser)) === 'released', {
        what: 'loser released',
      });
      expect(await holdStage(winner)).toBe('paid');
      expect(await api.redis.get(seatKey(session.id, seat!))).toBe(`sold:${winner.orderId}`);
      expect(await seatStatus(seat!)).toBe('sold');

      await waitFor(
        () =>
          eventsFor('order.refunded', loser.orderId).length > 0 &&
          eventsFor('order.failed', loser.orderId).length > 0 &&
          eventsFor('order.completed', winner.orderId).length > 0,
        { what: 'order.failed, order.refunded and order.completed' },
      );
      await drained();
      await outboxFlushed();
      expect(eventsFor('order.failed', loser.orderId)).toEqual([
        expect.objectContaining({
          data: expect.objectContaining({ reason: 'seat_already_sold', seatIds: [seat] }),
        }),
      ]);
      expect(eventsFor('order.refunded', loser.orderId)).toEqual([
        expect.objectContaining({
          data: expect.objectContaining({ totalCents: session.priceCents }),
        }),
      ]);
      expect(eventsFor('order.completed', winner.orderId)).toHaveLength(1);
      expect(eventsFor('order.completed', loser.orderId)).toHaveLength(0);
      expect(eventsFor('order.failed', winner.orderId)).toHaveLength(0);
      expect(eventsFor('order.refunded', winner.orderId)).toHaveLength(0);
    },
  );

  it('when one payment.approved is delivered again, in its batch and in a later one, then it is one order with one payment and its tickets once', async () => {
    const together = await payingHold(dealer.freshSeats(2));
    const later = await payingHold(dealer.freshSeats(1));
    const twice = approvedFor(together);
    await publish(twice, twice, approvedFor(later));
    await orderEnds(together.orderId, 'paid');
    await orderEnds(later.orderId, 'paid');
    // The same message again, once the first copy is long committed.
    await publish({ ...approvedFor(later), occurredAt: new Date().toISOString() });
    await drained();

    const db = em();
    for (const hold of [together, later]) {
      const eventId = eventIdFor(`payment.approved/${hold.orderId}`);
      expect(await db.count(Order, { holdId: hold.holdId })).toBe(1);
      expect(await db.count(Payment, { order: hold.orderId })).toBe(1);
      const tickets = await db.find(Ticket, { order: hold.orderId });
      expect(tickets.map((t) => t.seat.id).sort()).toEqual([...hold.seatIds].sort());
      expect(await db.count(ProcessedMessage, { consumer: FINALISER, messageId: eventId })).toBe(1);
      expect(await holdStage(hold)).toBe('paid');
      for (const seatId of hold.seatIds) expect(await seatStatus(seatId)).toBe('sold');
    }
    await outboxFlushed();
    await waitFor(() => eventsFor('order.completed', later.orderId).length > 0, {
      what: 'order.completed',
    });
    expect(eventsFor('order.completed', together.orderId)).toHaveLength(1);
    expect(eventsFor('order.completed', later.orderId)).toHaveLength(1);
  });

  it('when a message is not JSON, or is JSON without a well-formed approved payment, then it goes straight to the DLQ and nothing is written', async () => {
    const garbage = `not json ${randomUUID()}`;
    const missingSeats = craftedSale();
    const { seatIds: _seats, ...withoutSeats } = missingSeats.data;
    const invalid = { ...missingSeats, data: withoutSeats };
    const before = await em().count(Order, {});
    await publish(Buffer.from(garbage), invalid);

    const junk = await deadLettered((body) => body === garbage, 'the non-JSON message');
    const bad = await deadLettered(
      (body) => body.includes(missingSeats.data.orderId),
      'the invalid message',
    );
    for (const msg of [junk, bad]) {
      expect(msg.properties.headers).toMatchObject({ 'x-attempts': 0 });
      expect(msg.properties.headers?.['x-last-error']).toBe('unparseable');
    }
    expect(JSON.parse(bad.content.toString())).toEqual(JSON.parse(JSON.stringify(invalid)));
    await drained();
    const db = em();
    expect(await db.count(Order, {})).toBe(before);
    expect(await db.count(Order, { id: missingSeats.data.orderId })).toBe(0);
    expect(await db.count(ProcessedMessage, { messageId: missingSeats.id })).toBe(0);
  });

  it('when a message keeps failing, then it is retried with growing delays and dead-lettered after the last attempt, carrying its attempts', async () => {
    const ghost = await saleOfUnknownBuyer();
    const startedAt = Date.now();
    await publish(ghost);

    const dead = await deadLettered(
      (body) => body.includes(ghost.data.orderId),
      'the failing message',
    );
    const elapsed = Date.now() - startedAt;
    // Delays of 100, 200 and 400 ms went by between the four attempts.
    expect(elapsed).toBeGreaterThanOrEqual(RETRY_BASE_MS * (2 ** (MAX_ATTEMPTS - 1) - 1));
    const headers = dead.properties.headers ?? {};
    expect(headers['x-attempts']).toBe(MAX_ATTEMPTS);
    expect(String(headers['x-last-error'])).toMatch(/foreign key/i);
    const deaths = headers['x-death'] as { queue: string; reason: string; count: number }[];
    expect(deaths).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          queue: `${FINALISER_QUEUE}.retry`,
          reason: 'expired',
          count: MAX_ATTEMPTS - 1,
        }),
      ]),
    );
    expect(await em().count(Order, { id: ghost.data.orderId })).toBe(0);
  });

  it('when a failing message shares a batch with good ones, then only it is dead-lettered and the good sales are paid', async () => {
    const ghost = await saleOfUnknownBuyer();
    const good = await Promise.all(
      [1, 2, 3].map(async () => approvedFor(await payingHold(dealer.freshSeats(1)))),
    );
    await publish(good[0]!, ghost, good[1]!, good[2]!);

    await deadLettered((body) => body.includes(ghost.data.orderId), 'the failing message');
    for (const sale of good) await orderEnds(sale.data.orderId, 'paid');
    await drained();
    for (const sale of good) {
      expect(deadLetters.some((m) => m.content.toString().includes(sale.data.orderId))).toBe(false);
      expect(await em().count(Ticket, { order: sale.data.orderId, status: 'active' })).toBe(1);
    }
    expect(await em().count(Order, { id: ghost.data.orderId })).toBe(0);
  });
});

describe('finaliser: only real payments become sales', () => {
  it('when a payment.approved matches no paying hold (forged, for another order, other seats, another total), then it is dead-lettered with the reason and nothing is written', async () => {
    const [victim, other] = await Promise.all([
      payingHold(dealer.freshSeats(2)),
      payingHold(dealer.freshSeats(1)),
    ]);
    const genuine = approvedFor(victim);
    const refused = {
      forged: craftedSale(),
      anotherOrder: approvedFor({ ...victim, orderId: randomUUID() }),
      otherSeats: {
        ...approvedFor({ ...victim, seatIds: [...victim.seatIds, ...other.seatIds] }),
        id: randomUUID(),
      },
      anotherTotal: { ...genuine, id: randomUUID(), data: { ...genuine.data, totalCents: 1 } },
    };
    const before = await em().count(Order, {});
    await publish(...Object.values(refused));

    for (const [what, message] of Object.entries(refused)) {
      const dead = await deadLettered((body) => body.includes(message.id), `the ${what} approval`);
      expect(String(dead.properties.headers?.['x-last-error'])).toMatch(/^approval refused: /);
      expect(dead.properties.headers?.['x-attempts']).toBe(0);
    }
    await drained();
    expect(await em().count(Order, {})).toBe(before);
    expect(await em().count(Ticket, { seat: { $in: [...victim.seatIds, ...other.seatIds] } })).toBe(
      0,
    );
    expect(await holdStage(victim)).toBe('paying');
    for (const seatId of victim.seatIds) expect(await seatStatus(seatId)).toBe('held');

    // The hold was not harmed: its own approval still makes the sale.
    await publish(genuine);
    await orderEnds(victim.orderId, 'paid');
    expect(await em().count(Ticket, { order: victim.orderId, status: 'active' })).toBe(2);
  });
});
