import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { RecoveringChannelModel } from 'amqplib';
import request from 'supertest';
import { asOwnerOf } from '../support/buyers';
import { envelopeFromStreamEntry, eventIdFor, type EventEnvelope } from '../../shared/events';
import { EVENT_STREAMS_KEY, eventsKey } from '../../shared/holds/keys';
import type { Logger } from '../../shared/logger';
import { connectRabbit, EventPublisher } from '../../shared/rabbitmq';
import { createRedis, type RedisClient } from '../../shared/redis';
import { EventRelay, type EventRelayOptions } from '../../workers/event-relay/relay';
import { eventRelayWorker } from '../../workers/event-relay/worker';
import { startTestApi, type TestApi } from '../support/api';
import {
  confirmHold,
  Dealer,
  holdSeats,
  seededCinema,
  type Hold,
  type SeatMap,
} from '../support/cinema';
import { silentLogger } from '../support/database';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { createTestVhost, EventSpy, type TestVhost } from '../support/rabbitmq';
import { waitFor } from '../support/wait';
import { startWorkers } from '../support/workers';

const GROUP = 'event-relay';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let vhost: TestVhost;
/** Its workers drain every job and stream of their Redis db: a db no other run uses. */
let redisDb: OwnRedisDb;
let api: TestApi;
let spy: EventSpy;
let big: SeatMap;
let small: SeatMap;
/** Hands out seats of the big session no other test in this file has used, and users in turn. */
let dealer: Dealer;

beforeAll(async () => {
  redisDb = await claimRedisDb();
  vhost = await createTestVhost();
  api = await startTestApi({
    RABBITMQ_URL: vhost.url,
    MAX_SEATS_PER_HOLD: '4',
    REDIS_DB: redisDb.db,
  });
  await redisDb.mark();
  spy = await EventSpy.attach(vhost.url);
  const cinema = await seededCinema(api.app);
  ({ big, small } = cinema);
  dealer = new Dealer(big.seats, cinema.users);
});
afterAll(async () => {
  await spy?.close();
  await api?.close();
  await redisDb?.release();
  await vhost?.delete();
});

const http = () => request(api.app);
const hold = (seatIds: string[], userId = dealer.someUser()) => holdSeats(api.app, userId, seatIds);
const confirm = (h: Hold) => confirmHold(api.app, h);
const release = (h: Hold) =>
  http().delete(`/api/v1/holds/${h.holdId}`).set(asOwnerOf(h)).expect(204);

/** A hold taken and released: hold.created, hold.released and one seat.released per seat. */
const holdAndRelease = async (seatIds: string[]) => {
  const h = await hold(seatIds);
  await release(h);
  return h;
};
const eventsPerHoldAndRelease = (seats: number) => 2 + seats;

const eventsOf = (holdId: string) => spy.events.filter((e) => e.data.holdId === holdId);
const typesOf = (holdId: string) => eventsOf(holdId).map((e) => e.type);
const countById = (events: EventEnvelope[]) => {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  return counts;
};

/** Waits until the spy holds `count` distinct events of each hold. */
const waitForEvents = (holds: Hold[], count: (h: Hold) => number, timeoutMs = 10_000) =>
  waitFor(() => holds.every((h) => countById(eventsOf(h.holdId)).size >= count(h)), {
    timeoutMs,
    what: `${holds.length} hold(s)' events on cine.events`,
  });

/** Nothing left to relay in a session's stream: every entry published, acknowledged, deleted. */
const drained = async (sessionId: string) => {
  const stream = eventsKey(sessionId);
  const [length, pending] = await Promise.all([
    api.redis.xlen(stream),
    api.redis.xpending(stream, GROUP) as Promise<[number, ...unknown[]]>,
  ]);
  return length === 0 && Number(pending[0]) === 0;
};
const waitUntilDrained = (sessionId: string) =>
  waitFor(() => drained(sessionId), { what: `events:{${sessionId}} to be relayed and emptied` });

/** A relay built by hand, to give it options or a publisher of the test's own. */
async function startRelay(
  options: EventRelayOptions = {},
  publisherFor: (rabbit: RecoveringChannelModel, logger: Logger) => EventPublisher = (
    rabbit,
    logger,
  ) => new EventPublisher(rabbit, logger),
) {
  const redis = createRedis(api.db.config);
  const rabbit = await connectRabbit(vhost.url, silentLogger);
  const relay = new EventRelay(redis, publisherFor(rabbit, silentLogger), silentLogger, options);
  relay.start();
  return {
    stop: async () => {
      await relay.stop();
      await rabbit.close();
      await redis.quit();
    },
  };
}

/** A relay that read entries and then died: they stay pending under its consumer name. */
async function readAsDeadRelay(redis: RedisClient, stream: string): Promise<[string, string[]][]> {
  try {
    await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM');
  } catch (err) {
    if (!(err as Error).message.includes('BUSYGROUP')) throw err;
  }
  const reply = (await redis.xreadgroup(
    'GROUP',
    GROUP,
    'dead-relay',
    'COUNT',
    100,
    'STREAMS',
    stream,
    '>',
  )) as [string, [string, string[]][]][] | null;
  return reply?.[0]?.[1] ?? [];
}

const rabbitmqctl = async (...args: string[]) =>
  (await promisify(execFile)('rabbitmqctl', ['-q', ...args])).stdout;
/** Pids of the connections open on this file's vhost. */
const connectionsOnVhost = async () =>
  (await rabbitmqctl('list_connections', 'pid', 'vhost'))
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, name]) => pid?.startsWith('<') && name === vhost.name)
    .map(([pid]) => pid!);

describe('with one relay running', () => {
  let workers: { stop: () => Promise<void> };
  beforeAll(async () => {
    workers = await startWorkers(api.db.config, [eventRelayWorker]);
  });
  afterAll(async () => {
    await workers?.stop();
  });

  it('when a hold is taken, confirmed and released, then hold.created, hold.confirmed, hold.released and one seat.released per seat arrive once each, in that order, with the documented body', async () => {
    const seatSpy = await EventSpy.attach(vhost.url, 'seat.#');
    try {
      const startedAt = Date.now();
      const h = await hold(dealer.freshSeats(2));
      const confirmed = await confirm(h);
      await release(h);
      await waitForEvents([h], () => 5);
      await waitUntilDrained(big.id);

      const events = eventsOf(h.holdId);
      expect(events.map((e) => e.type)).toEqual([
        'hold.created',
        'hold.confirmed',
        'hold.released',
        'seat.released',
        'seat.released',
      ]);
      const [created, confirmedEvent, released, ...seats] = events;
      const holdData = {
        holdId: h.holdId,
        userId: h.userId,
        sessionId: big.id,
        seatIds: h.seatIds,
      };
      expect(created).toEqual({
        id: expect.stringMatching(UUID),
        type: 'hold.created',
        occurredAt: expect.stringMatching(ISO_UTC),
        data: { ...holdData, expiresAt: Date.parse(h.expiresAt) },
      });
      expect(confirmedEvent!.data).toEqual({
        ...holdData,
        expiresAt: Date.parse(confirmed.expiresAt),
      });
      expect(released!.data).toEqual(holdData);
      expect(seats.map((e) => e.data)).toEqual(
        h.seatIds.map((seatId) => ({
          sessionId: big.id,
          seatId,
          holdId: h.holdId,
          reason: 'released',
        })),
      );
      for (const e of events) {
        expect(e.id).toMatch(UUID);
        expect(Object.keys(e).sort()).toEqual(['data', 'id', 'occurredAt', 'type']);
        expect(new Date(e.occurredAt).toISOString()).toBe(e.occurredAt);
        expect(Date.parse(e.occurredAt)).toBeGreaterThanOrEqual(startedAt - 1_000);
        expect(Date.parse(e.occurredAt)).toBeLessThanOrEqual(Date.now());
      }
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      const times = events.map((e) => Date.parse(e.occurredAt));
      expect([...times].sort((a, b) => a - b)).toEqual(times);

      // Routed by type: a queue bound to seat.# gets the seat events and nothing else.
      await waitFor(() => seatSpy.events.filter((e) => e.data.holdId === h.holdId).length >= 2, {
        what: 'seat.released on a queue bound to seat.#',
      });
      expect(new Set(seatSpy.events.map((e) => e.type))).toEqual(new Set(['seat.released']));
    } finally {
      await seatSpy.close();
    }
  });

  it('when the relay has published and acknowledged the events, then the Redis stream is empty (XLEN 0) and nothing is pending', async () => {
    const h = await holdAndRelease(dealer.freshSeats(3));
    expect(await api.redis.sismember(EVENT_STREAMS_KEY, eventsKey(big.id))).toBe(1);
    await waitForEvents([h], () => eventsPerHoldAndRelease(3));
    await waitUntilDrained(big.id);
    expect(await api.redis.xlen(eventsKey(big.id))).toBe(0);
    expect(countById(eventsOf(h.holdId)).size).toBe(eventsOf(h.holdId).length);
  });
});

describe('relays that come and go', () => {
  it('when two relay copies run at once, then each event is still delivered exactly once', async () => {
    const consumers = async () =>
      ((await api.redis.xinfo('CONSUMERS', eventsKey(big.id), GROUP)) as unknown[]).length;
    const consumersBefore = await consumers();
    const workers = await startWorkers(api.db.config, [eventRelayWorker, eventRelayWorker]);
    try {
      const holds = await Promise.all(
        Array.from({ length: 20 }, () => holdAndRelease(dealer.freshSeats(2))),
      );
      await waitForEvents(holds, () => eventsPerHoldAndRelease(2), 15_000);
      await waitUntilDrained(big.id);
      for (const h of holds) {
        const events = eventsOf(h.holdId);
        expect(events).toHaveLength(4);
        expect(new Set(events.map((e) => e.id)).size).toBe(4);
        expect([...typesOf(h.holdId)].sort()).toEqual([
          'hold.created',
          'hold.released',
          'seat.released',
          'seat.released',
        ]);
      }
      // Both copies read from the one consumer group.
      expect(await consumers()).toBe(consumersBefore + 2);
    } finally {
      await workers.stop();
    }
  });

  it('when events were recorded while no relay ran (in a stream no relay has seen yet), then they are delivered once a relay starts', async () => {
    const seatIds = small.seats.slice(0, 2).map((s) => s.id);
    const h = await holdAndRelease(seatIds);
    expect(await api.redis.xlen(eventsKey(small.id))).toBe(4);
    expect(await api.redis.xinfo('GROUPS', eventsKey(small.id))).toEqual([]);
    expect(eventsOf(h.holdId)).toHaveLength(0);

    const workers = await startWorkers(api.db.config, [eventRelayWorker]);
    try {
      await waitForEvents([h], () => 4);
      await waitUntilDrained(small.id);
      expect(typesOf(h.holdId)).toEqual([
        'hold.created',
        'hold.released',
        'seat.released',
        'seat.released',
      ]);
    } finally {
      await workers.stop();
    }
  });

  it('when a relay read entries and died before publishing them, then another relay takes them over and delivers each once, with the id derived from its entry', async () => {
    const stream = eventsKey(big.id);
    const h = await holdAndRelease(dealer.freshSeats(2));
    const abandoned = await readAsDeadRelay(api.redis, stream);
    expect(abandoned).toHaveLength(4);
    expect(await api.redis.xpending(stream, GROUP)).toEqual([
      4,
      expect.any(String),
      expect.any(String),
      [['dead-relay', '4']],
    ]);

    const relay = await startRelay({ claimIdleMs: 300, claimEveryMs: 100 });
    try {
      await waitForEvents([h], () => 4);
      await waitUntilDrained(big.id);
      const events = eventsOf(h.holdId);
      expect(events.map((e) => e.id)).toEqual(
        abandoned.map(([entryId]) => eventIdFor(`${stream}/${entryId}`)),
      );
      expect(events.map((e) => e.type)).toEqual([
        'hold.created',
        'hold.released',
        'seat.released',
        'seat.released',
      ]);
    } finally {
      await relay.stop();
    }
  });

  it('when a relay published entries but died before acknowledging them, then another relay publishes them again with the same event ids, so consumers can deduplicate', async () => {
    const stream = eventsKey(big.id);
    const h = await holdAndRelease(dealer.freshSeats(2));
    const abandoned = await readAsDeadRelay(api.redis, stream);
    expect(abandoned).toHaveLength(4);
    // What the dead relay got out before it died: the same bodies a relay builds.
    const rabbit = await connectRabbit(vhost.url, silentLogger);
    try {
      const fields = (flat: string[]) =>
        Object.fromEntries(flat.flatMap((v, i) => (i % 2 ? [] : [[v, flat[i + 1]!]])));
      await new EventPublisher(rabbit, silentLogger).publish(
        abandoned.map(([entryId, flat]) => envelopeFromStreamEntry(stream, entryId, fields(flat))),
      );
    } finally {
      await rabbit.close();
    }
    await waitFor(() => eventsOf(h.holdId).length >= 4, { what: 'the first delivery' });
    const first = eventsOf(h.holdId).slice(0, 4);

    const relay = await startRelay({ claimIdleMs: 300, claimEveryMs: 100 });
    try {
      await waitFor(() => eventsOf(h.holdId).length >= 8, { what: 'the redelivery' });
      await waitUntilDrained(big.id);
      const all = eventsOf(h.holdId);
      expect(all).toHaveLength(8);
      expect(all.slice(4)).toEqual(first);
      expect([...countById(all).values()]).toEqual([2, 2, 2, 2]);
    } finally {
      await relay.stop();
    }
  });

  it('when publishing a batch fails (no confirm from the broker), then the relay publishes the same entries again at once, in order, without waiting for the abandoned-entry takeover', async () => {
    const h = await hold(dealer.freshSeats(2));
    await confirm(h);
    await release(h);
    let failures = 0;
    class FailingOnce extends EventPublisher {
      override async publish(events: EventEnvelope[]) {
        if (failures === 0 && events.length > 0) {
          failures += 1;
          throw new Error('simulated: the broker did not confirm');
        }
        return super.publish(events);
      }
    }
    // Default takeover settings (15 s idle): the retry must not depend on them.
    const relay = await startRelay({}, (rabbit, logger) => new FailingOnce(rabbit, logger));
    try {
      await waitForEvents([h], () => 5, 5_000);
      await waitUntilDrained(big.id);
      expect(failures).toBe(1);
      expect(typesOf(h.holdId)).toEqual([
        'hold.created',
        'hold.confirmed',
        'hold.released',
        'seat.released',
        'seat.released',
      ]);
    } finally {
      await relay.stop();
    }
  });

  it('when events wait in the streams of several sessions, then the relay publishes them in one confirmed batch, not one per session', async () => {
    const inBig = await holdAndRelease(dealer.freshSeats(1));
    const inSmall = await holdSeats(api.app, dealer.someUser(), [small.seats[0]!.id]);
    const batches: EventEnvelope[][] = [];
    class Counting extends EventPublisher {
      override async publish(events: EventEnvelope[]) {
        if (events.length > 0) batches.push(events);
        return super.publish(events);
      }
    }
    const relay = await startRelay({}, (rabbit, logger) => new Counting(rabbit, logger));
    try {
      await waitForEvents([inBig, inSmall], (h) => (h === inBig ? 3 : 1), 5_000);
      expect(batches).toHaveLength(1);
      expect(new Set(batches[0]!.map((e) => e.data.sessionId))).toEqual(
        new Set([big.id, small.id]),
      );
    } finally {
      await relay.stop();
    }
  });

  it("when the relay's RabbitMQ connection is dropped, then it reconnects and later events still arrive, none lost", async () => {
    const before = new Set(await connectionsOnVhost());
    const workers = await startWorkers(api.db.config, [eventRelayWorker]);
    try {
      const relayConnections = (await connectionsOnVhost()).filter((pid) => !before.has(pid));
      expect(relayConnections.length).toBeGreaterThanOrEqual(1);
      const early = await holdAndRelease(dealer.freshSeats(1));
      await waitForEvents([early], () => 3);

      // Events keep being recorded (and relayed) while the connection drops, and after it.
      const around: Hold[] = [];
      let recording = true;
      const recorder = (async () => {
        const seatIds = dealer.freshSeats(2);
        while (recording) around.push(await holdAndRelease(seatIds));
      })();
      try {
        await waitFor(() => around.length >= 3, { what: 'events recorded before the drop' });
        for (const pid of relayConnections) {
          await rabbitmqctl('close_connection', pid, 'test: connection dropped');
        }
        const atDrop = around.length;
        await waitFor(() => around.length >= atDrop + 3, {
          what: 'events recorded after the drop',
        });
      } finally {
        recording = false;
        await recorder;
      }
      await waitFor(
        async () =>
          (await connectionsOnVhost()).some(
            (pid) => !before.has(pid) && !relayConnections.includes(pid),
          ),
        { what: 'the relay to reconnect' },
      );
      const later = await holdAndRelease(dealer.freshSeats(1));

      const all = [early, ...around, later];
      await waitForEvents(all, (h) => eventsPerHoldAndRelease(h.seatIds.length), 15_000);
      await waitUntilDrained(big.id);
      for (const h of all) {
        // At least once: a batch cut off by the drop may be published again, with the same ids.
        expect(countById(eventsOf(h.holdId)).size).toBe(eventsPerHoldAndRelease(h.seatIds.length));
        expect([...new Set(typesOf(h.holdId))].sort()).toEqual([
          'hold.created',
          'hold.released',
          'seat.released',
        ]);
      }
    } finally {
      await workers.stop();
    }
  });
});
