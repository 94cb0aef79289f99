import request from 'supertest';
import { asBuyer, asOwnerOf, testCard } from '../support/buyers';
import { Order, OutboxEvent, Payment, Ticket } from '../../shared/db/entities';
import { expiryJobId } from '../../shared/queues';
import { startTestApi, type TestApi } from '../support/api';
import {
  confirmedHold,
  Dealer,
  seededCinema,
  type Hold,
  type SeatMap,
  type User,
} from '../support/cinema';
import { createTestVhost, EventSpy, type TestVhost } from '../support/rabbitmq';
import { waitFor } from '../support/wait';
import { EVERY_WORKER, startWorkers } from '../support/workers';

let vhost: TestVhost;
let api: TestApi;
let spy: EventSpy;
let workers: { stop: () => Promise<void> };
let users: User[];
let session: SeatMap;
let dealer: Dealer;

beforeAll(async () => {
  vhost = await createTestVhost();
  api = await startTestApi({ RABBITMQ_URL: vhost.url });
  spy = await EventSpy.attach(vhost.url);
  workers = await startWorkers(api.db.config, EVERY_WORKER);
  ({ users, big: session } = await seededCinema(api.app));
  dealer = new Dealer(session.seats);
});
afterAll(async () => {
  await workers.stop();
  await spy.close();
  await api.close();
  await vhost.delete();
});

const http = () => request(api.app);
const card = testCard;

const pay = (hold: Pick<Hold, 'holdId' | 'holdToken' | 'userId'>, body: object, key?: string) => {
  const req = http().post(`/api/v1/holds/${hold.holdId}/payment`).set(asOwnerOf(hold));
  return (key ? req.set('Idempotency-Key', key) : req).send(body);
};

/** An order as an operator reads it (buyers' own reads are in test/e2e/auth.test.ts). */
const orderOf = (orderId: string) => http().get(`/api/v1/orders/${orderId}`).set(api.adminAuth);
const settled = (orderId: string, status: string) =>
  waitFor(
    async () => {
      const res = await orderOf(orderId);
      return res.body.status === status ? res.body : undefined;
    },
    { what: `order ${orderId} ${status}` },
  );

describe('checkout', () => {
  it('when a confirmed hold is paid by card, then it ends as a paid order with its tickets, payment and receipt', async () => {
    const user = users[0]!.id;
    const hold = await confirmedHold(api.app, user, dealer.freshSeats(2));
    const accepted = await pay(hold, {
      method: 'credit_card',
      card: card('4111 1111 1111 1111'),
    }).expect(202);
    expect(accepted.body).toEqual({ orderId: expect.any(String), status: 'processing' });

    const order = await settled(accepted.body.orderId, 'paid');
    expect(order).toMatchObject({
      userId: user,
      sessionId: session.id,
      totalCents: 2 * session.priceCents,
      currency: 'BRL',
      method: 'credit_card',
      cardLast4: '1111',
      paidAt: expect.any(String),
    });
    expect(order.seats.map((s: { id: string }) => s.id).sort()).toEqual([...hold.seatIds].sort());

    const em = api.db.orm.em.fork();
    expect(await em.count(Order, { id: order.orderId, status: 'paid' })).toBe(1);
    expect(await em.count(Ticket, { order: order.orderId, status: 'active' })).toBe(2);
    const payment = await em.findOneOrFail(Payment, { order: order.orderId });
    expect(payment).toMatchObject({
      status: 'approved',
      amountCents: 2 * session.priceCents,
      cardLast4: '1111',
    });

    const map = (await http().get(`/api/v1/sessions/${session.id}`)).body;
    for (const seatId of hold.seatIds) {
      expect(map.seats.find((s: { id: string }) => s.id === seatId).status).toBe('sold');
    }
    const hold2 = await http().get(`/api/v1/holds/${hold.holdId}`).set(asOwnerOf(hold));
    expect(hold2.body.stage).toBe('paid');

    const withReceipt = await waitFor(
      async () => (await orderOf(order.orderId)).body.receipt ?? undefined,
      {
        what: 'receipt',
      },
    );
    expect(withReceipt).toMatchObject({
      orderId: order.orderId,
      movie: session.movie.title,
      room: session.room.name,
      startsAt: session.startsAt,
      cardLast4: '1111',
      totalCents: 2 * session.priceCents,
    });
    // Its seats by label, in seat order.
    expect(withReceipt.seats).toEqual(
      session.seats.filter((s) => hold.seatIds.includes(s.id)).map((s) => s.label),
    );

    await waitFor(
      () => spy.ofType('order.completed').some((e) => e.data.orderId === order.orderId),
      {
        what: 'order.completed',
      },
    );
    // Once the outbox is drained, every event of the sale has been published exactly once.
    await waitFor(async () => (await em.fork().count(OutboxEvent, { publishedAt: null })) === 0, {
      what: 'outbox drained',
    });
    for (const type of ['payment.approved', 'order.completed']) {
      expect(spy.ofType(type).filter((e) => e.data.orderId === order.orderId)).toHaveLength(1);
    }
  });

  it('when the card is declined, then the order is declined, the hold is confirmed again, and a retry with pix is paid', async () => {
    const hold = await confirmedHold(api.app, users[1]!.id, dealer.freshSeats(1));
    const seatMapVersion = () => api.redis.get(`seatmap-version:{${session.id}}`).then(Number);
    const versionWhilePaying = await seatMapVersion();
    const declined = await pay(hold, {
      method: 'credit_card',
      card: card('4000000000000002'),
    }).expect(202);
    const order = await settled(declined.body.orderId, 'declined');
    expect(order.cardLast4).toBe('0002');
    const read = await http().get(`/api/v1/holds/${hold.holdId}`).set(asOwnerOf(hold));
    expect(read.body.stage).toBe('confirmed');
    // Its seats expire again: a cached seat map must not outlive them.
    expect(await seatMapVersion()).toBeGreaterThan(versionWhilePaying);
    // Its cleanup is due at the restored expiry (the confirmed job was re-dated, not left behind).
    const cleanup = await api.queues.expiry.getJob(expiryJobId(hold.holdId, 'confirmed'));
    expect(await cleanup?.getState()).toBe('delayed');
    expect(cleanup?.data.expiresAt).toBe(Date.parse(read.body.expiresAt));
    await waitFor(
      () => spy.ofType('payment.declined').some((e) => e.data.orderId === order.orderId),
      {
        what: 'payment.declined',
      },
    );

    const retry = await pay(hold, { method: 'pix' }).expect(202);
    expect(retry.body.orderId).not.toBe(declined.body.orderId);
    const paid = await settled(retry.body.orderId, 'paid');
    expect(paid.method).toBe('pix');
    expect(paid.cardLast4).toBeNull();
  });

  it('when a hold is not confirmed, then paying answers 409; with a bad card, 400; without its token, 403; signed out, 401', async () => {
    const hold = (
      await http()
        .post('/api/v1/holds')
        .set(asBuyer(users[2]!.id))
        .send({ seatIds: dealer.freshSeats(1) })
    ).body;
    expect((await pay(hold, { method: 'pix' }).expect(409)).body.error.code).toBe(
      'HOLD_NOT_CONFIRMED',
    );
    await http().post(`/api/v1/holds/${hold.holdId}/confirm`).set(asOwnerOf(hold)).expect(200);
    const bad = await pay(hold, { method: 'credit_card', card: card('4111111111111112') }).expect(
      400,
    );
    expect(bad.body.error.fields[0].field).toBe('body.card.number');
    await pay(hold, {
      method: 'credit_card',
      card: { ...card('4111111111111111'), expYear: 2020 },
    }).expect(400);
    await pay(hold, { method: 'boleto' }).expect(400);
    await http()
      .post(`/api/v1/holds/${hold.holdId}/payment`)
      .set(asBuyer(hold.userId))
      .send({ method: 'pix' })
      .expect(403);
    await http()
      .post(`/api/v1/holds/${hold.holdId}/payment`)
      .set('X-Hold-Token', hold.holdToken)
      .send({ method: 'pix' })
      .expect(401);
    const paying = await pay(hold, { method: 'pix' }).expect(202);
    expect((await pay(hold, { method: 'pix' }).expect(409)).body.error.code).toBe(
      'HOLD_WRONG_STAGE',
    );
    await settled(paying.body.orderId, 'paid');
  });

  it('when two payment requests with one Idempotency-Key arrive at once, then there is one order', async () => {
    const hold = await confirmedHold(api.app, users[3]!.id, dealer.freshSeats(1));
    const [a, b] = await Promise.all([
      pay(hold, { method: 'pix' }, 'pay-once-key'),
      pay(hold, { method: 'pix' }, 'pay-once-key'),
    ]);
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(a.body.orderId).toBe(b.body.orderId);
    await settled(a.body.orderId, 'paid');
    const orders = await api.db.orm.em.fork().count(Order, { holdId: hold.holdId });
    expect(orders).toBe(1);
  });

  it('buys through the seed routes: reserva/assento, confirma-intencao, pagamento (pix by default)', async () => {
    const [seat] = dealer.freshSeats(1);
    const user = users[4]!.id;
    await http().post('/reserva/assento').send({ usuario_id: user, assento_id: seat }).expect(201);
    await http()
      .post('/reserva/confirma-intencao')
      .send({ usuario_id: user, assento_id: seat })
      .expect(200);
    await http()
      .post('/reserva/pagamento')
      .send({ usuario_id: users[5]!.id, assento_id: seat })
      .expect(403);
    const res = await http()
      .post('/reserva/pagamento')
      .send({ usuario_id: user, assento_id: seat })
      .expect(202);
    const order = await settled(res.body.orderId, 'paid');
    expect(order.method).toBe('pix');
    const history = await http().get('/api/v1/me/orders').set(asBuyer(user)).expect(200);
    expect(history.body.items[0].orderId).toBe(order.orderId);
  });

  it('when an admin refunds an order, then its seats are on sale again and sell to someone else', async () => {
    const seats = dealer.freshSeats(1);
    const hold = await confirmedHold(api.app, users[6]!.id, seats);
    const { orderId } = (await pay(hold, { method: 'pix' }).expect(202)).body;
    await settled(orderId, 'paid');
    await http().post(`/api/v1/orders/${orderId}/refund`).expect(401);
    const refunded = await http()
      .post(`/api/v1/orders/${orderId}/refund`)
      .set(api.adminAuth)
      .expect(200);
    expect(refunded.body).toMatchObject({ orderId, status: 'refunded' });
    expect((await orderOf(orderId)).body.status).toBe('refunded');
    expect(await api.db.orm.em.fork().count(Ticket, { order: orderId, status: 'refunded' })).toBe(
      1,
    );
    await waitFor(() => spy.ofType('order.refunded').some((e) => e.data.orderId === orderId), {
      what: 'order.refunded',
    });

    const again = await confirmedHold(api.app, users[7]!.id, seats);
    const second = (await pay(again, { method: 'pix' }).expect(202)).body;
    await settled(second.orderId, 'paid');
    await http().post(`/api/v1/orders/${orderId}/refund`).set(api.adminAuth).expect(200);
    expect((await orderOf(second.orderId)).body.status).toBe('paid');
  });

  it('lists a user history newest first, paginated', async () => {
    const user = users[8]!.id;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const hold = await confirmedHold(api.app, user, dealer.freshSeats(1));
      const { orderId } = (await pay(hold, { method: 'pix' }).expect(202)).body;
      await settled(orderId, 'paid');
      ids.push(orderId);
    }
    const page1 = await http()
      .get('/api/v1/me/orders')
      .set(asBuyer(user))
      .query({ pageSize: 2 })
      .expect(200);
    expect(page1.body).toMatchObject({ page: 1, pageSize: 2, total: 3 });
    expect(page1.body.items.map((o: { orderId: string }) => o.orderId)).toEqual([ids[2], ids[1]]);
    const page2 = await http()
      .get(`/api/v1/users/${user}/orders`)
      .set(asBuyer(user))
      .query({ page: 2, pageSize: 2 })
      .expect(200);
    expect(page2.body.items.map((o: { orderId: string }) => o.orderId)).toEqual([ids[0]]);
    await http().get('/api/v1/me/orders').set(asBuyer(user)).query({ pageSize: 0 }).expect(400);
  });

  it('answers 404 for an unknown order', async () => {
    const res = await orderOf('00000000-0000-4000-8000-000000000077').expect(404);
    expect(res.body.error.code).toBe('ORDER_NOT_FOUND');
  });
});
