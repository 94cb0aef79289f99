import request from 'supertest';
import { asBuyer, asOwnerOf } from '../support/buyers';
import { expiryJobId } from '../../shared/queues';
import { startTestApi, type TestApi } from '../support/api';
import { Dealer, seededCinema, type SeatMap, type User } from '../support/cinema';

let api: TestApi;
let users: User[];
let session: SeatMap;
/** Hands out seats no other test in this file has used. */
let dealer: Dealer;

beforeAll(async () => {
  api = await startTestApi({ MAX_SEATS_PER_HOLD: '4' });
  ({ users, big: session } = await seededCinema(api.app));
  dealer = new Dealer(session.seats);
});
afterAll(async () => {
  await api.close();
});

const http = () => request(api.app);
const hold = (userId: string, seatIds: string[]) =>
  http().post('/api/v1/holds').set(asBuyer(userId)).send({ seatIds });
const seatStatus = async (seatId: string) =>
  (await http().get(`/api/v1/sessions/${session.id}`)).body.seats.find(
    (s: { id: string }) => s.id === seatId,
  ).status;

describe('holding seats', () => {
  it('when a user holds free seats, then they get the hold with its token, and the seat map shows them held', async () => {
    const seatIds = dealer.freshSeats(2);
    const res = await hold(users[0]!.id, seatIds).expect(201);
    expect(res.body).toEqual({
      holdId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      holdToken: expect.any(String),
      userId: users[0]!.id,
      sessionId: session.id,
      seatIds,
      stage: 'held',
      expiresAt: expect.any(String),
      expiresInSeconds: 30,
    });
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeGreaterThan(28_000);
    expect(await seatStatus(seatIds[0]!)).toBe('held');
    const listed = (await http().get('/api/v1/sessions')).body.find(
      (s: { id: string }) => s.id === session.id,
    );
    expect(listed.seatsAvailable).toBeLessThanOrEqual(198);
  });

  it('stores the hold token only as a hash', async () => {
    const res = await hold(users[0]!.id, dealer.freshSeats(1)).expect(201);
    const record = await api.redis.hgetall(`hold:{${session.id}}:${res.body.holdId}`);
    expect(Object.values(record)).not.toContain(res.body.holdToken);
    expect(record.tokenHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('schedules the hold cleanup as a delayed BullMQ job named after the hold and its stage', async () => {
    const res = await hold(users[0]!.id, dealer.freshSeats(1)).expect(201);
    const job = await api.queues.expiry.getJob(expiryJobId(res.body.holdId, 'held'));
    expect(job?.data).toEqual({
      holdId: res.body.holdId,
      sessionId: session.id,
      stage: 'held',
      expiresAt: Date.parse(res.body.expiresAt),
    });
    expect(await job?.getState()).toBe('delayed');
  });

  it('when one of the seats is taken, then the hold answers 409 naming it, and holds none of the others', async () => {
    const [taken, free] = dealer.freshSeats(2);
    await hold(users[9]!.id, [taken!]).expect(201);
    const res = await hold(users[1]!.id, [free!, taken!]).expect(409);
    expect(res.body.error).toMatchObject({ code: 'SEAT_UNAVAILABLE', seatIds: [taken] });
    expect(await seatStatus(free!)).toBe('available');
  });

  it('when a seat is sold, then it cannot be held', async () => {
    const [sold] = dealer.freshSeats(1);
    await api.redis.set(`seat:{${session.id}}:${sold}`, 'sold:some-order');
    const res = await hold(users[1]!.id, [sold!]).expect(409);
    expect(res.body.error.seatIds).toEqual([sold]);
  });

  it('when the body names the buyer, then it must be the signed-in one: the same is accepted, another is 403 and holds nothing', async () => {
    const [mine, theirs] = [dealer.freshSeats(1), dealer.freshSeats(1)];
    const own = await http()
      .post('/api/v1/holds')
      .set(asBuyer(users[1]!.id))
      .send({ userId: users[1]!.id, seatIds: mine })
      .expect(201);
    expect(own.body.userId).toBe(users[1]!.id);
    const other = await http()
      .post('/api/v1/holds')
      .set(asBuyer(users[1]!.id))
      .send({ userId: users[2]!.id, seatIds: theirs })
      .expect(403);
    expect(other.body.error).toMatchObject({ code: 'FORBIDDEN', field: 'userId' });
    expect(await seatStatus(theirs[0]!)).toBe('available');
  });

  it('when a seat does not exist, then it answers 404', async () => {
    const unknown = '00000000-0000-4000-8000-000000000001';
    const res = await hold(users[1]!.id, [unknown]).expect(404);
    expect(res.body.error).toMatchObject({ code: 'SEAT_NOT_FOUND', seatIds: [unknown] });
  });

  it('when the seats belong to two sessions, then it answers 400', async () => {
    const other = (await http().get('/api/v1/sessions')).body.find(
      (s: { id: string }) => s.id !== session.id,
    );
    const otherSeat = (await http().get(`/api/v1/sessions/${other.id}`)).body.seats[0].id;
    const res = await hold(users[1]!.id, [dealer.freshSeats(1)[0]!, otherSeat]).expect(400);
    expect(res.body.error.code).toBe('SEATS_IN_SEVERAL_SESSIONS');
  });

  it.each([
    [{ seatIds: [] }, 'empty'],
    [{ seatIds: ['x'] }, 'not a uuid'],
    [{ seatIds: Array(5).fill('00000000-0000-4000-8000-000000000001') }, 'over MAX_SEATS_PER_HOLD'],
    [
      { seatIds: ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001'] },
      'duplicates',
    ],
  ])('when seatIds is %j (%s), then it answers 400 VALIDATION_FAILED', async (body) => {
    const res = await http()
      .post('/api/v1/holds')
      .set(asBuyer(users[1]!.id))
      .send(body)
      .expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('when a user would hold more than MAX_SEATS_PER_HOLD seats of a session, then it answers 429 HOLD_LIMIT', async () => {
    const user = users[2]!.id;
    await hold(user, dealer.freshSeats(3)).expect(201);
    const res = await hold(user, dealer.freshSeats(2)).expect(429);
    expect(res.body.error).toMatchObject({ code: 'HOLD_LIMIT', limit: 4, alreadyHeld: 3 });
    await hold(user, dealer.freshSeats(1)).expect(201);
  });
});

describe('a hold after it is taken', () => {
  it('can be read by its owner with its token; without the token, with another, or as another buyer, 403; an unknown hold, 404', async () => {
    const created = (await hold(users[3]!.id, dealer.freshSeats(1)).expect(201)).body;
    const res = await http()
      .get(`/api/v1/holds/${created.holdId}`)
      .set(asOwnerOf(created))
      .expect(200);
    expect(res.body).toMatchObject({
      holdId: created.holdId,
      stage: 'held',
      seatIds: created.seatIds,
    });
    const owner = asBuyer(created.userId);
    expect(
      (await http().get(`/api/v1/holds/${created.holdId}`).set(owner).expect(403)).body.error.code,
    ).toBe('FORBIDDEN');
    await http()
      .get(`/api/v1/holds/${created.holdId}`)
      .set(owner)
      .set('X-Hold-Token', 'not-it')
      .expect(403);
    await http()
      .get(`/api/v1/holds/${created.holdId}`)
      .set({ ...asOwnerOf(created), ...asBuyer(users[4]!.id) })
      .expect(403);
    await http()
      .get('/api/v1/holds/00000000-0000-4000-8000-000000000009')
      .set(owner)
      .set('X-Hold-Token', 'x')
      .expect(404);
  });

  it('when confirmed, then it lives CONFIRMED_HOLD_TTL_SECONDS, its seats too, and a confirmation job is queued', async () => {
    const created = (await hold(users[3]!.id, dealer.freshSeats(1)).expect(201)).body;
    await http().post(`/api/v1/holds/${created.holdId}/confirm`).expect(401);
    await http()
      .post(`/api/v1/holds/${created.holdId}/confirm`)
      .set(asBuyer(created.userId))
      .expect(403);
    const res = await http()
      .post(`/api/v1/holds/${created.holdId}/confirm`)
      .set(asOwnerOf(created))
      .expect(200);
    expect(res.body).toMatchObject({
      holdId: created.holdId,
      stage: 'confirmed',
      expiresInSeconds: 600,
    });
    const seatTtl = await api.redis.pttl(`seat:{${session.id}}:${created.seatIds[0]}`);
    expect(seatTtl).toBeGreaterThan(590_000);
    expect(await api.queues.confirmation.getJob(`confirm-${created.holdId}`)).toBeDefined();
    const again = await http()
      .post(`/api/v1/holds/${created.holdId}/confirm`)
      .set(asOwnerOf(created))
      .expect(200);
    expect(again.body.expiresAt).toBe(res.body.expiresAt);
    const read = await http().get(`/api/v1/holds/${created.holdId}`).set(asOwnerOf(created));
    expect(read.body.stage).toBe('confirmed');
  });

  it('when released, then its seats are available at once, and confirming it answers 410', async () => {
    const created = (await hold(users[3]!.id, dealer.freshSeats(2)).expect(201)).body;
    await http()
      .delete(`/api/v1/holds/${created.holdId}`)
      .set(asBuyer(created.userId))
      .set('X-Hold-Token', 'wrong')
      .expect(403);
    expect(await seatStatus(created.seatIds[0])).toBe('held');
    await http().delete(`/api/v1/holds/${created.holdId}`).set(asOwnerOf(created)).expect(204);
    expect(await seatStatus(created.seatIds[0])).toBe('available');
    expect(await seatStatus(created.seatIds[1])).toBe('available');
    const res = await http()
      .post(`/api/v1/holds/${created.holdId}/confirm`)
      .set(asOwnerOf(created))
      .expect(410);
    expect(res.body.error.code).toBe('HOLD_EXPIRED');
    await http().delete(`/api/v1/holds/${created.holdId}`).set(asOwnerOf(created)).expect(204);
    const read = await http().get(`/api/v1/holds/${created.holdId}`).set(asOwnerOf(created));
    expect(read.body.stage).toBe('released');
    await hold(users[4]!.id, created.seatIds).expect(201);
  });
});

describe('seed-compatible hold routes', () => {
  it('POST /reserva/assento holds one seat and answers like POST /api/v1/holds', async () => {
    const [seat] = dealer.freshSeats(1);
    const res = await http()
      .post('/reserva/assento')
      .send({ usuario_id: users[5]!.id, assento_id: seat })
      .expect(201);
    expect(res.body).toMatchObject({
      userId: users[5]!.id,
      seatIds: [seat],
      stage: 'held',
      holdToken: expect.any(String),
    });
    const conflict = await http()
      .post('/reserva/assento')
      .send({ usuario_id: users[6]!.id, assento_id: seat })
      .expect(409);
    expect(conflict.body.error.code).toBe('SEAT_UNAVAILABLE');
  });

  it('POST /reserva/assento takes several seats with assento_ids, and refuses both forms at once', async () => {
    const seats = dealer.freshSeats(2);
    await http()
      .post('/reserva/assento')
      .send({ usuario_id: users[5]!.id, assento_ids: seats })
      .expect(201);
    await http()
      .post('/reserva/assento')
      .send({
        usuario_id: users[5]!.id,
        assento_id: dealer.freshSeats(1)[0],
        assento_ids: dealer.freshSeats(1),
      })
      .expect(400);
  });

  it('POST /reserva/confirma-intencao confirms the hold of the seat for its holder only', async () => {
    const [seat] = dealer.freshSeats(1);
    const created = (
      await http().post('/reserva/assento').send({ usuario_id: users[7]!.id, assento_id: seat })
    ).body;
    const stranger = await http()
      .post('/reserva/confirma-intencao')
      .send({ usuario_id: users[8]!.id, assento_id: seat })
      .expect(403);
    expect(stranger.body.error.code).toBe('FORBIDDEN');
    const res = await http()
      .post('/reserva/confirma-intencao')
      .send({ usuario_id: users[7]!.id, assento_id: seat })
      .expect(200);
    expect(res.body).toMatchObject({
      holdId: created.holdId,
      stage: 'confirmed',
      expiresInSeconds: 600,
    });
  });

  it('POST /reserva/confirma-intencao on a seat nobody holds answers 410, on an unknown seat 404', async () => {
    const [seat] = dealer.freshSeats(1);
    await http()
      .post('/reserva/confirma-intencao')
      .send({ usuario_id: users[7]!.id, assento_id: seat })
      .expect(410);
    await http()
      .post('/reserva/confirma-intencao')
      .send({ usuario_id: users[7]!.id, assento_id: '00000000-0000-4000-8000-000000000001' })
      .expect(404);
  });
});

describe('Bull Board', () => {
  it('is refused without admin credentials and asks the browser for them', async () => {
    const res = await http().get('/admin/queues').expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
    await http().get('/admin/queues').auth('admin', 'wrong').expect(401);
    await http().get('/admin/queues').set('Authorization', 'Bearer wrong-token').expect(403);
  });

  it('serves the dashboard with Basic (browser) or Bearer (tools) admin auth, and lists the hold queues', async () => {
    const page = await http()
      .get('/admin/queues')
      .auth('admin', api.db.config.adminToken)
      .expect(200);
    expect(page.text).toContain('<html');
    const queues = await http().get('/admin/queues/api/queues').set(api.adminAuth).expect(200);
    const names = queues.body.queues.map((q: { name: string }) => q.name);
    expect(names).toEqual(expect.arrayContaining(['hold-expiry', 'hold-confirmation']));
  });
});
