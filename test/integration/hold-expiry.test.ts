import request from 'supertest';
import { asOwnerOf } from '../support/buyers';
import type { EventEnvelope } from '../../shared/events';
import { confirmIntent } from '../../shared/holds/confirm-intent';
import { expireHold } from '../../shared/holds/expire-hold';
import { createHoldContext } from '../../shared/holds/hold-context';
import { eventsKey, holdKey, seatKey, userSeatsKey } from '../../shared/holds/keys';
import { confirmationJobId, expiryJobId, type HoldExpiryJob } from '../../shared/queues';
import { eventRelayWorker } from '../../workers/event-relay/worker';
import { holdsWorker } from '../../workers/holds/worker';
import { startTestApi, type TestApi } from '../support/api';
import { Dealer, holdSeats, seededCinema, type Hold, type SeatMap } from '../support/cinema';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { createTestVhost, EventSpy, type TestVhost } from '../support/rabbitmq';
import { waitFor } from '../support/wait';
import { startWorkers } from '../support/workers';

const HOLD_TTL_MS = 1_000;
const CONFIRMED_TTL_MS = 3_000;

let vhost: TestVhost;
/** Its workers drain every job and stream of their Redis db: a db no other run uses. */
let redisDb: OwnRedisDb;
let api: TestApi;
let session: SeatMap;
/** Hands out seats no other test in this file has used, and the seeded users in turn. */
let dealer: Dealer;

beforeAll(async () => {
  redisDb = await claimRedisDb();
  vhost = await createTestVhost();
  api = await startTestApi({
    HOLD_TTL_SECONDS: String(HOLD_TTL_MS / 1000),
    CONFIRMED_HOLD_TTL_SECONDS: String(CONFIRMED_TTL_MS / 1000),
    RABBITMQ_URL: vhost.url,
    REDIS_DB: redisDb.db,
  });
  await redisDb.mark();
  const cinema = await seededCinema(api.app);
  session = cinema.big;
  dealer = new Dealer(session.seats, cinema.users);
});
afterAll(async () => {
  await api?.close();
  await redisDb?.release();
  await vhost?.delete();
});

const http = () => request(api.app);
const hold = (seatIds: string[], userId = dealer.someUser()) => holdSeats(api.app, userId, seatIds);
const confirm = (h: Hold) => http().post(`/api/v1/holds/${h.holdId}/confirm`).set(asOwnerOf(h));
const readHold = async (h: Hold) =>
  (await http().get(`/api/v1/holds/${h.holdId}`).set(asOwnerOf(h)).expect(200)).body;
const record = (h: Hold) => api.redis.hgetall(holdKey(h.sessionId, h.holdId));
/** The seats' statuses as GET /api/v1/sessions/:id shows them. */
const statuses = async (seatIds: string[]): Promise<string[]> => {
  const seats: { id: string; status: string }[] = (
    await http().get(`/api/v1/sessions/${session.id}`).expect(200)
  ).body.seats;
  return seatIds.map((id) => seats.find((s) => s.id === id)!.status);
};
/** Polls the seat map until every seat is available; answers when that was first seen. */
const waitUntilAvailable = (seatIds: string[], timeoutMs = 5_000) =>
  waitFor(async () => (await statuses(seatIds)).every((s) => s === 'available') && Date.now(), {
    timeoutMs,
    what: `seats ${seatIds.join(', ')} to be available`,
  });
const jobState = (jobId: string) => api.queues.expiry.getJobState(jobId);
const waitForCompletedJob = async (jobId: string, timeoutMs = 6_000) => {
  await waitFor(async () => (await jobState(jobId)) === 'completed', {
    timeoutMs,
    what: `job ${jobId} completed`,
  });
  return (await api.queues.expiry.getJob(jobId))!;
};

describe('with every worker stopped', () => {
  it("when a held hold's TTL passes, then its seats show available without any worker, the hold reads expired, confirming answers 410, and another user can hold the seats", async () => {
    const h = await hold(dealer.freshSeats(2));
    expect(await statuses(h.seatIds)).toEqual(['held', 'held']);

    const availableAt = await waitUntilAvailable(h.seatIds);
    expect(availableAt).toBeGreaterThanOrEqual(Date.parse(h.expiresAt));

    expect(await readHold(h)).toMatchObject({ stage: 'expired', expiresInSeconds: 0 });
    // Nobody ran the cleanup: the record still says held, and its job still waits.
    expect((await record(h)).stage).toBe('held');
    expect(['delayed', 'waiting']).toContain(await jobState(expiryJobId(h.holdId, 'held')));

    const refused = await confirm(h).expect(410);
    expect(refused.body.error).toMatchObject({ code: 'HOLD_EXPIRED', holdId: h.holdId });
    const again = await hold(h.seatIds);
    expect(again.userId).not.toBe(h.userId);
    expect(await statuses(h.seatIds)).toEqual(['held', 'held']);
  });

  it('when a hold is confirmed, then its seats stay held past the held TTL and free themselves at the confirmed TTL, without any worker', async () => {
    const h = await hold(dealer.freshSeats(2));
    const confirmed = (await confirm(h).expect(200)).body;
    const confirmedExpiresAt = Date.parse(confirmed.expiresAt);
    expect(confirmedExpiresAt - Date.parse(h.expiresAt)).toBeGreaterThanOrEqual(
      CONFIRMED_TTL_MS - HOLD_TTL_MS - 100,
    );

    // Watch the seat map until well past the held TTL: every look before the confirmed
    // expiry sees them held.
    await waitFor(
      async () => {
        const seen = await statuses(h.seatIds);
        if (Date.now() < confirmedExpiresAt) expect(seen).toEqual(['held', 'held']);
        return Date.now() > Date.parse(h.expiresAt) + 500;
      },
      { what: 'the held TTL to be well past' },
    );
    expect(await readHold(h)).toMatchObject({ stage: 'confirmed' });

    const availableAt = await waitUntilAvailable(h.seatIds);
    expect(availableAt).toBeGreaterThanOrEqual(confirmedExpiresAt);
    expect(await readHold(h)).toMatchObject({ stage: 'expired' });
    expect((await record(h)).stage).toBe('confirmed');
    expect((await confirm(h).expect(410)).body.error.code).toBe('HOLD_EXPIRED');
  });
});

describe('with the workers running', () => {
  let spy: EventSpy;
  let workers: { stop: () => Promise<void> };
  beforeAll(async () => {
    spy = await EventSpy.attach(vhost.url);
    workers = await startWorkers(api.db.config, [holdsWorker, eventRelayWorker]);
  });
  afterAll(async () => {
    await workers?.stop();
    await spy?.close();
  });

  const eventsOf = (holdId: string, type?: string) =>
    spy.events.filter((e) => e.data.holdId === holdId && (!type || e.type === type));
  /** Nothing left to relay: every recorded event published, acknowledged and deleted. */
  const waitUntilRelayed = () =>
    waitFor(
      async () => {
        const stream = eventsKey(session.id);
        const [length, [pending]] = await Promise.all([
          api.redis.xlen(stream),
          api.redis.xpending(stream, 'event-relay') as Promise<[number]>,
        ]);
        return length === 0 && Number(pending) === 0;
      },
      { what: 'every recorded event to be relayed' },
    );
  /** Waits for a hold's hold.expired and seat.released events, then checks each came once. */
  const expectExpiredOnce = async (h: Hold): Promise<EventEnvelope> => {
    await waitFor(
      () =>
        eventsOf(h.holdId, 'hold.expired').length >= 1 &&
        eventsOf(h.holdId, 'seat.released').length >= h.seatIds.length,
      { what: `hold.expired and seat.released for ${h.holdId}` },
    );
    await waitUntilRelayed();
    const expired = eventsOf(h.holdId, 'hold.expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]!.data).toEqual({
      holdId: h.holdId,
      userId: h.userId,
      sessionId: h.sessionId,
      seatIds: h.seatIds,
    });
    expect(eventsOf(h.holdId, 'seat.released').map((e) => e.data)).toEqual(
      h.seatIds.map((seatId) => ({
        sessionId: h.sessionId,
        seatId,
        holdId: h.holdId,
        reason: 'expired',
      })),
    );
    expect(eventsOf(h.holdId, 'hold.released')).toHaveLength(0);
    return expired[0]!;
  };

  it("when a held hold's TTL passes, then its job expires the record, removes its seats from the user's set, and hold.expired (once) plus one seat.released per seat arrive on cine.events", async () => {
    const h = await hold(dealer.freshSeats(2));
    const userKey = userSeatsKey(h.sessionId, h.userId);
    const members = h.seatIds.map((seatId) => `${h.holdId}:${seatId}`);
    for (const member of members) expect(await api.redis.zscore(userKey, member)).not.toBeNull();

    const job = await waitForCompletedJob(expiryJobId(h.holdId, 'held'));
    expect(job.returnvalue).toEqual({ outcome: 'expired' });
    expect(job.finishedOn).toBeGreaterThanOrEqual(Date.parse(h.expiresAt));

    const ended = await record(h);
    expect(ended.stage).toBe('expired');
    expect(Number(ended.endedAt)).toBeGreaterThanOrEqual(Date.parse(h.expiresAt));
    for (const member of members) expect(await api.redis.zscore(userKey, member)).toBeNull();
    expect(await statuses(h.seatIds)).toEqual(['available', 'available']);

    const expired = await expectExpiredOnce(h);
    expect(Date.parse(expired.occurredAt)).toBeGreaterThanOrEqual(Date.parse(h.expiresAt));
  });

  it('when a hold is confirmed at once, then its held-stage job never expires it: it stays confirmed past the held TTL and expires once, at the confirmed TTL', async () => {
    const h = await hold(dealer.freshSeats(2));
    const confirmedExpiresAt = Date.parse((await confirm(h).expect(200)).body.expiresAt);

    // The confirmation job has moved the cleanup, and the held TTL is well past.
    await waitFor(
      async () =>
        (await api.queues.confirmation.getJobState(confirmationJobId(h.holdId))) === 'completed' &&
        (await jobState(expiryJobId(h.holdId, 'confirmed'))) === 'delayed' &&
        ['unknown', 'completed'].includes(await jobState(expiryJobId(h.holdId, 'held'))) &&
        Date.now() > Date.parse(h.expiresAt) + 500,
      { what: 'the cleanup to move to the confirmed expiry, and the held TTL to pass' },
    );
    expect((await record(h)).stage).toBe('confirmed');
    expect(await statuses(h.seatIds)).toEqual(['held', 'held']);
    expect(await readHold(h)).toMatchObject({ stage: 'confirmed' });

    // A copy of the held-stage job that still runs (a retry, a slow worker) finds the hold moved on.
    const heldJob: HoldExpiryJob = {
      holdId: h.holdId,
      sessionId: h.sessionId,
      stage: 'held',
      expiresAt: Date.parse(h.expiresAt),
    };
    await api.queues.expiry.add('expire', heldJob, { jobId: `stale-copy-${h.holdId}` });
    const stale = await waitForCompletedJob(`stale-copy-${h.holdId}`);
    expect(stale.returnvalue).toEqual({ outcome: 'nothing-to-do', reason: 'stale' });
    expect((await record(h)).stage).toBe('confirmed');
    expect(await statuses(h.seatIds)).toEqual(['held', 'held']);
    expect(eventsOf(h.holdId, 'hold.expired')).toHaveLength(0);

    const job = await waitForCompletedJob(expiryJobId(h.holdId, 'confirmed'));
    expect(job.returnvalue).toEqual({ outcome: 'expired' });
    expect(job.finishedOn).toBeGreaterThanOrEqual(confirmedExpiresAt);
    expect((await record(h)).stage).toBe('expired');
    expect(await statuses(h.seatIds)).toEqual(['available', 'available']);
    const expired = await expectExpiredOnce(h);
    expect(Date.parse(expired.occurredAt)).toBeGreaterThanOrEqual(confirmedExpiresAt);
    expect(eventsOf(h.holdId, 'hold.confirmed')).toHaveLength(1);
  });

  it("when the expiry runs before the hold's clock has run out, then it answers not-due and changes nothing", async () => {
    const h = await hold(dealer.freshSeats(2));
    const ctx = createHoldContext(api.redis, api.db.config.holds, api.queues);
    const before = await record(h);

    const result = await expireHold(ctx, {
      holdId: h.holdId,
      sessionId: h.sessionId,
      stage: 'held',
      expiresAt: Date.parse(h.expiresAt),
    });

    expect(result).toEqual({ outcome: 'not-due', expiresAt: Date.parse(h.expiresAt) });
    expect(await record(h)).toEqual(before);
    for (const seatId of h.seatIds)
      expect(await api.redis.get(seatKey(h.sessionId, seatId))).toBe(h.holdId);
    // It expires at its time, once, by its own job.
    const expired = await expectExpiredOnce(h);
    expect(Date.parse(expired.occurredAt)).toBeGreaterThanOrEqual(Date.parse(h.expiresAt));
  });

  it('when the API stopped after confirming but before queuing the confirmation job, then the held-stage job hands the cleanup to the confirmed expiry, and the hold still expires once, at its confirmed TTL', async () => {
    const h = await hold(dealer.freshSeats(2));
    // The confirm script runs; queuing the confirmation job then fails (the API died there).
    const ctx = createHoldContext(api.redis, api.db.config.holds, {
      ...api.queues,
      confirmation: { add: () => Promise.reject(new Error('simulated: the API stopped')) },
    } as unknown as typeof api.queues);
    await expect(
      confirmIntent(ctx, h.holdId, { kind: 'owner', userId: h.userId, token: h.holdToken }),
    ).rejects.toThrow('simulated: the API stopped');
    const confirmedExpiresAt = Date.parse((await readHold(h)).expiresAt);
    expect(await api.queues.confirmation.getJobState(confirmationJobId(h.holdId))).toBe('unknown');

    const heldJob = await waitForCompletedJob(expiryJobId(h.holdId, 'held'));
    expect(heldJob.returnvalue).toMatchObject({ outcome: 'nothing-to-do' });
    expect((await record(h)).stage).toBe('confirmed');
    expect(await statuses(h.seatIds)).toEqual(['held', 'held']);
    const confirmedJob = await api.queues.expiry.getJob(expiryJobId(h.holdId, 'confirmed'));
    expect(confirmedJob?.data).toEqual({
      holdId: h.holdId,
      sessionId: h.sessionId,
      stage: 'confirmed',
      expiresAt: confirmedExpiresAt,
    });

    const job = await waitForCompletedJob(expiryJobId(h.holdId, 'confirmed'));
    expect(job.returnvalue).toEqual({ outcome: 'expired' });
    expect((await record(h)).stage).toBe('expired');
    const expired = await expectExpiredOnce(h);
    expect(Date.parse(expired.occurredAt)).toBeGreaterThanOrEqual(confirmedExpiresAt);
  });

  it('when an expiry job fires before its time, then the worker puts it back to wait and the hold stays live until its clock runs out', async () => {
    const h = await hold(dealer.freshSeats(1));
    const confirmedExpiresAt = Date.parse((await confirm(h).expect(200)).body.expiresAt);
    const early: HoldExpiryJob = {
      holdId: h.holdId,
      sessionId: h.sessionId,
      stage: 'confirmed',
      expiresAt: confirmedExpiresAt,
    };
    await api.queues.expiry.add('expire', early, { jobId: `early-${h.holdId}`, delay: 0 });

    // Taken (waiting → active) and put back to wait (delayed); meanwhile the hold is untouched.
    await waitFor(async () => (await jobState(`early-${h.holdId}`)) === 'delayed', {
      what: 'the early job to be re-delayed',
    });
    expect(Date.now()).toBeLessThan(confirmedExpiresAt);
    expect((await record(h)).stage).toBe('confirmed');
    expect(await statuses(h.seatIds)).toEqual(['held']);

    const job = await waitForCompletedJob(`early-${h.holdId}`);
    expect(job.finishedOn).toBeGreaterThanOrEqual(confirmedExpiresAt);
    expect((await record(h)).stage).toBe('expired');
    const expired = await expectExpiredOnce(h);
    expect(Date.parse(expired.occurredAt)).toBeGreaterThanOrEqual(confirmedExpiresAt);
  });

  it('when several copies of the holds worker run, then each of 20 holds expires exactly once', async () => {
    const second = await startWorkers(api.db.config, [holdsWorker]);
    try {
      const holds = await Promise.all(Array.from({ length: 20 }, () => hold(dealer.freshSeats(1))));
      // Half of them confirmed, so both queues and both stages are shared by the copies.
      await Promise.all(holds.filter((_, i) => i % 2 === 0).map((h) => confirm(h).expect(200)));

      for (const h of holds) await expectExpiredOnce(h);
      for (const h of holds) expect((await record(h)).stage).toBe('expired');
      expect(await statuses(holds.flatMap((h) => h.seatIds))).toEqual(holds.map(() => 'available'));
    } finally {
      await second.stop();
    }
    expect(await api.queues.expiry.getFailedCount()).toBe(0);
    expect(await api.queues.confirmation.getFailedCount()).toBe(0);
  });
});
