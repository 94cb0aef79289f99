import request from 'supertest';
import { Order, Ticket } from '../../shared/db/entities';
import { restoreSoldSeats } from '../../shared/orders/restore-sold-seats';
import { holdsWorker } from '../../workers/holds/worker';
import { startTestApi, type TestApi } from '../support/api';
import { asBuyer } from '../support/buyers';
import { seededCinema, type SeatMap } from '../support/cinema';
import { startWorkers } from '../support/workers';

let api: TestApi;
let session: SeatMap;
let userId: string;

beforeAll(async () => {
  api = await startTestApi();
  const cinema = await seededCinema(api.app);
  userId = cinema.users[0]!.id;
  session = cinema.big;
});
afterAll(async () => {
  await api.close();
});

/** A sale as the finaliser leaves it in Postgres, without its Redis side. */
async function soldInPostgresOnly(seatId: string, status: 'active' | 'refunded' = 'active') {
  const em = api.db.orm.em.fork();
  const order = em.create(Order, {
    id: crypto.randomUUID(),
    user: userId,
    session: session.id,
    holdId: crypto.randomUUID(),
    status: status === 'active' ? 'paid' : 'refunded',
    totalCents: 2500,
    currency: 'BRL',
    method: 'pix',
    paidAt: new Date(),
  });
  em.create(Ticket, { order, seat: seatId, status, priceCents: 2500 });
  await em.flush();
  return order.id;
}

const seatStatus = async (seatId: string) =>
  (await request(api.app).get(`/api/v1/sessions/${session.id}`)).body.seats.find(
    (s: { id: string }) => s.id === seatId,
  ).status;

describe('when Redis has lost what Postgres sold', () => {
  it('then restoring marks exactly the actively sold seats sold again, and they cannot be held', async () => {
    const [sold, refunded, free] = session.seats.map((s) => s.id);
    const orderId = await soldInPostgresOnly(sold!);
    await soldInPostgresOnly(refunded!, 'refunded');
    expect(await seatStatus(sold!)).toBe('available');
    // Best available had built its occupancy of the session (all free).
    await api.redis.set(`seats-taken:{${session.id}}`, '0'.repeat(session.seats.length));

    expect(await restoreSoldSeats(api.db.orm, api.redis)).toBe(1);

    expect(await api.redis.get(`seat:{${session.id}}:${sold}`)).toBe(`sold:${orderId}`);
    expect(await seatStatus(sold!)).toBe('sold');
    expect(await seatStatus(refunded!)).toBe('available');
    expect(await seatStatus(free!)).toBe('available');
    // Best available's occupancy of the session is dropped, to be rebuilt from the keys.
    expect(await api.redis.exists(`seats-taken:{${session.id}}`)).toBe(0);
    const res = await request(api.app)
      .post('/api/v1/holds')
      .set(asBuyer(userId))
      .send({ seatIds: [sold] })
      .expect(409);
    expect(res.body.error.seatIds).toEqual([sold]);
    expect(await restoreSoldSeats(api.db.orm, api.redis)).toBe(1);
  });

  it('then the holds worker restores them when it starts (and schedules the hold sweep)', async () => {
    const seat = session.seats[5]!.id;
    await soldInPostgresOnly(seat);
    expect(await seatStatus(seat)).toBe('available');
    const workers = await startWorkers(api.db.config, [holdsWorker]);
    try {
      expect(await seatStatus(seat)).toBe('sold');
      // It also schedules the overdue-hold sweep, once however many copies start.
      const schedulers = await api.queues.sweep.getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toEqual(['sweep-overdue-holds']);
    } finally {
      await workers.stop();
    }
  });
});
