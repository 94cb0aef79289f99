import request from 'supertest';
import { asBuyer, asOwnerOf } from '../support/buyers';
import { expiryJobId } from '../../shared/queues';
import { createHoldContext } from '../../shared/holds/hold-context';
import { holdDeadlinesKey } from '../../shared/holds/keys';
import { SWEEP_GRACE_MS, sweepOverdueHolds } from '../../shared/holds/sweep-overdue-holds';
import { startTestApi, type TestApi } from '../support/api';
import { holdSeats, seededCinema } from '../support/cinema';
import { waitFor } from '../support/wait';

/**
 * The sweep is the safety net for a hold whose cleanup job never got queued (the API stopped
 * between the hold script and the job). Its clock is simulated here by passing `now`.
 */
let api: TestApi;
let userId: string;
let seats: string[];
let sessionId: string;

beforeAll(async () => {
  api = await startTestApi({ HOLD_TTL_SECONDS: '1' });
  const { users, big } = await seededCinema(api.app);
  userId = users[0]!.id;
  sessionId = big.id;
  seats = big.seats.map((s) => s.id);
});
afterAll(async () => {
  await api.close();
});

const ctx = () => createHoldContext(api.redis, api.db.config.holds, api.queues);

async function holdWithoutCleanupJob(seatIds: string[]) {
  const hold = await holdSeats(api.app, userId, seatIds);
  // As if the API had stopped before queuing the job: remove it.
  await api.queues.expiry.remove(expiryJobId(hold.holdId, 'held'));
  return hold;
}

/** Waits (1 s TTL) until Redis's own clock, which the scripts use, is past `epochMs`. */
const clockPast = (epochMs: number) =>
  waitFor(
    async () => {
      const [seconds, micros] = await api.redis.time();
      return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) > epochMs;
    },
    { what: 'the hold clock to run out' },
  );

describe('the overdue-hold sweep', () => {
  it('when a hold has no cleanup job and its clock ran out, then the sweep expires it and emits its events', async () => {
    const hold = await holdWithoutCleanupJob([seats[0]!, seats[1]!]);
    const expiresAt = Date.parse(hold.expiresAt);
    const streamBefore = await api.redis.xlen(`events:{${sessionId}}`);

    expect(await sweepOverdueHolds(ctx(), expiresAt)).toBe(0); // not overdue yet
    await clockPast(expiresAt);
    expect(await sweepOverdueHolds(ctx(), expiresAt + SWEEP_GRACE_MS + 1)).toBe(1);

    expect(await api.redis.hget(`hold:{${sessionId}}:${hold.holdId}`, 'stage')).toBe('expired');
    const events = await api.redis.xrange(`events:{${sessionId}}`, '-', '+');
    const types = events.slice(streamBefore).map(([, fields]) => fields[1]);
    expect(types).toEqual(['hold.expired', 'seat.released', 'seat.released']);
    expect(await api.redis.zscore(holdDeadlinesKey(sessionId), hold.holdId)).toBeNull();
    expect(await sweepOverdueHolds(ctx(), expiresAt + SWEEP_GRACE_MS + 1)).toBe(0);
  });

  it('leaves alone holds that are not overdue, confirmed ones until their new expiry, and forgets settled ones', async () => {
    const held = await holdWithoutCleanupJob([seats[2]!]);
    const confirmed = (
      await request(api.app)
        .post('/api/v1/holds')
        .set(asBuyer(userId))
        .send({ seatIds: [seats[3]!] })
    ).body;
    const confirmation = await request(api.app)
      .post(`/api/v1/holds/${confirmed.holdId}/confirm`)
      .set(asOwnerOf(confirmed))
      .expect(200);
    const released = (
      await request(api.app)
        .post('/api/v1/holds')
        .set(asBuyer(userId))
        .send({ seatIds: [seats[4]!] })
    ).body;
    await request(api.app)
      .delete(`/api/v1/holds/${released.holdId}`)
      .set(asOwnerOf(released))
      .expect(204);
    expect(await api.redis.zscore(holdDeadlinesKey(sessionId), released.holdId)).toBeNull();

    await clockPast(Date.parse(held.expiresAt));
    const afterHeld = Date.parse(held.expiresAt) + SWEEP_GRACE_MS + 1;
    expect(await sweepOverdueHolds(ctx(), afterHeld)).toBe(1);
    expect(await api.redis.hget(`hold:{${sessionId}}:${confirmed.holdId}`, 'stage')).toBe(
      'confirmed',
    );
    expect(Number(await api.redis.zscore(holdDeadlinesKey(sessionId), confirmed.holdId))).toBe(
      Date.parse(confirmation.body.expiresAt),
    );
  });
});
