/**
 * §4.7 the live seat map over Server-Sent Events, against real servers, Redis, RabbitMQ and the
 * workers: subscribers on two API instances see every change in order, a reconnect with
 * Last-Event-ID misses nothing, and a subscriber that stops reading is disconnected while the
 * others keep receiving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import {
  FEED_CONNECTION_NAME,
  LOG_START,
  SeatMapFeed,
  type SeatLogEntry,
} from '../../api/live/seat-map-feed';
import { isCluster, mastersOf } from '../../shared/redis';
import { seatLogKey } from '../../shared/holds/keys';
import { liveMapDropped } from '../../shared/metrics';
import { eventRelayWorker } from '../../workers/event-relay/worker';
import { finaliserWorker } from '../../workers/finaliser/worker';
import { holdsWorker } from '../../workers/holds/worker';
import { paymentsWorker } from '../../workers/payments/worker';
import { apiInstance, startTestApi, type TestApi } from '../support/api';
import { asOwnerOf } from '../support/buyers';
import {
  confirmedHold,
  Dealer,
  holdSeats,
  seededCinema,
  type Hold,
  type SeatMap,
} from '../support/cinema';
import { silentLogger } from '../support/database';
import { startRealServer, type RealServer } from '../support/http-server';
import { createTestVhost, type TestVhost } from '../support/rabbitmq';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { SseClient } from '../support/sse';
import { waitFor } from '../support/wait';
import { startWorkers } from '../support/workers';

const HOLD_TTL_SECONDS = 2;
jest.setTimeout(60_000);

let redisDb: OwnRedisDb;
let vhost: TestVhost;
let api: TestApi;
let instances: Awaited<ReturnType<typeof apiInstance>>[];
let feeds: SeatMapFeed[];
let servers: RealServer[];
let workers: { stop: () => Promise<void> };
let session: SeatMap;
let users: string[];
let dealer: Dealer;
const clients: SseClient[] = [];

beforeAll(async () => {
  redisDb = await claimRedisDb();
  vhost = await createTestVhost();
  api = await startTestApi({
    REDIS_DB: redisDb.db,
    RABBITMQ_URL: vhost.url,
    HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS),
    LIVE_MAP_HEARTBEAT_SECONDS: '0.5',
    LIVE_MAP_MAX_BUFFER_BYTES: '1024',
    MAX_SEATS_PER_HOLD: '10',
  });
  await redisDb.mark();
  feeds = [
    new SeatMapFeed(api.redis, silentLogger),
    new SeatMapFeed(api.redis, silentLogger, { batchMs: 100 }),
  ];
  // Two API instances, each with its own feed, as two processes behind a load balancer; the
  // second batches changes that come close together, as production does (LIVE_MAP_BATCH_MS).
  instances = [
    await apiInstance(api.db, { seatMapFeed: feeds[0] }),
    await apiInstance(api.db, { seatMapFeed: feeds[1] }),
  ];
  servers = await Promise.all(instances.map((instance) => startRealServer(instance.app)));
  workers = await startWorkers(api.db.config, [
    holdsWorker,
    paymentsWorker,
    finaliserWorker,
    eventRelayWorker,
  ]);
  const cinema = await seededCinema(api.app);
  session = cinema.big;
  users = cinema.users.map((u) => u.id);
  dealer = new Dealer(session.seats);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(feeds.map((feed) => feed.close()));
  await Promise.all((servers ?? []).map((s) => s.close()));
  await workers?.stop();
  for (const instance of instances ?? []) {
    await instance.queues.close();
    await instance.redis.quit();
  }
  await api?.close();
  await vhost?.delete();
  await redisDb?.release();
});

const streamUrl = (server: RealServer, sessionId = session.id) =>
  `${server.baseUrl}/api/v1/sessions/${sessionId}/seats/stream`;

async function subscribe(server: RealServer, headers: Record<string, string> = {}) {
  const client = await SseClient.open(streamUrl(server), headers);
  clients.push(client);
  return client;
}

const release = (hold: Hold) =>
  request(api.app).delete(`/api/v1/holds/${hold.holdId}`).set(asOwnerOf(hold)).expect(204);

describe('live seat map', () => {
  it('when a subscriber connects, then the first event is a snapshot of every seat, like GET /api/v1/sessions/:id', async () => {
    const client = await subscribe(servers[0]!);
    expect(client.status).toBe(200);
    const snapshot = await client.until(() => client.ofType('snapshot')[0], 'the snapshot');
    const map = (await request(api.app).get(`/api/v1/sessions/${session.id}`).expect(200)).body;
    expect(JSON.parse(snapshot.data)).toEqual(map);
    expect(snapshot.id).toMatch(/^\d+-\d+$/);
    await client.until(() => client.comments >= 2, 'heartbeat comments');
    await client.close();
  });

  it('when a seat is held, released, held until it expires and finally sold, then subscribers on two API instances both see each change, in order', async () => {
    const [a, b] = [await subscribe(servers[0]!), await subscribe(servers[1]!)];
    await a.until(() => a.ofType('snapshot').length > 0, 'snapshot on A');
    await b.until(() => b.ofType('snapshot').length > 0, 'snapshot on B');
    const [seat] = dealer.freshSeats(1);

    const first = await holdSeats(api.app, users[0]!, [seat!]);
    await release(first);
    await holdSeats(api.app, users[1]!, [seat!]); // left to expire (2 s)
    const expected = ['held', 'available', 'held', 'available'];
    for (const client of [a, b])
      await client.until(
        () => client.historyOf(seat!).length >= 4,
        'the expiry to reach the stream',
        15_000,
      );

    const sale = await confirmedHold(api.app, users[2]!, [seat!]);
    await request(api.app)
      .post(`/api/v1/holds/${sale.holdId}/payment`)
      .set(asOwnerOf(sale))
      .send({ method: 'pix' })
      .expect(202);
    for (const client of [a, b]) {
      await client.until(() => client.historyOf(seat!).includes('sold'), 'the sale', 15_000);
      expect(client.historyOf(seat!)).toEqual([...expected, 'held', 'sold']);
    }
    // Each event id is a log position, strictly increasing.
    const ids = a.ofType('seats').map((e) => e.id!);
    expect(ids).toEqual([...ids].sort(comparePositions));
    expect(new Set(ids).size).toBe(ids.length);
    await Promise.all([a.close(), b.close()]);
  });

  it('when five clients follow one session on one instance, then the session is read once there, and not at all once the last one leaves', async () => {
    const feed = feeds[0]!;
    // The earlier tests' clients have left: nothing is read for them any more.
    await waitFor(() => feed.activeSessions === 0, { what: 'earlier readers to stop' });
    const five = await Promise.all(Array.from({ length: 5 }, () => subscribe(servers[0]!)));
    for (const client of five)
      await client.until(() => client.ofType('snapshot').length > 0, 'snapshot');
    expect(feed.activeSessions).toBe(1);
    await waitFor(async () => (await feedConnections()) === readerConnections(), {
      what: 'one reader of the log',
    });
    const [seat] = dealer.freshSeats(1);
    await holdSeats(api.app, users[6]!, [seat!]);
    for (const client of five)
      await client.until(() => client.historyOf(seat!).length === 1, 'the hold on every client');
    await Promise.all(five.map((client) => client.close()));
    await waitFor(() => feed.activeSessions === 0, { what: 'the reader to stop' });
    await waitFor(async () => (await feedConnections()) === 0, { what: 'its connection to close' });
  });

  it('when a subscriber reconnects with Last-Event-ID, then it gets exactly the changes it missed, without a new snapshot', async () => {
    const client = await subscribe(servers[0]!);
    await client.until(() => client.ofType('snapshot').length > 0, 'snapshot');
    const seats = dealer.freshSeats(3);
    await holdSeats(api.app, users[3]!, [seats[0]!]);
    await client.until(() => client.historyOf(seats[0]!).length === 1, 'the first change');
    const lastSeen = client.lastEventId!;
    await client.close();

    const missed = await holdSeats(api.app, users[3]!, [seats[1]!, seats[2]!]);
    await release(missed);
    const again = await subscribe(servers[1]!, { 'Last-Event-ID': lastSeen });
    await again.until(
      () => again.historyOf(seats[2]!).length === 2,
      'the missed changes after reconnecting',
    );
    expect(again.ofType('snapshot')).toEqual([]);
    expect(again.changes()).toEqual([
      [seats[1], 'held'],
      [seats[2], 'held'],
      [seats[1], 'available'],
      [seats[2], 'available'],
    ]);
    await again.close();
  });

  it('when Last-Event-ID is not a position, or one the capped log no longer holds, then the subscriber gets a new snapshot', async () => {
    const garbage = await subscribe(servers[0]!, { 'Last-Event-ID': 'not-a-position' });
    await garbage.until(() => garbage.ofType('snapshot').length > 0, 'a snapshot for garbage');
    await garbage.close();

    // Over a thousand changes on the 16-seat session push its first entries out of the log.
    const small = (await seededCinema(api.app)).small;
    const firstHold = await holdSeats(api.app, users[4]!, [small.seats[0]!.id]);
    const early = (await api.redis.xrange(`seatlog:{${small.id}}`, '-', '+', 'COUNT', 1))[0]![0];
    await release(firstHold);
    const seatIds = small.seats.slice(0, 10).map((s) => s.id);
    for (let i = 0; i < 600; i++) {
      await release(await holdSeats(api.app, users[4]!, seatIds));
    }
    const [trimmedUpTo] = await api.redis.xrange(`seatlog:{${small.id}}`, '-', '+', 'COUNT', 1);
    expect(comparePositions(trimmedUpTo![0], early)).toBeGreaterThan(0);
    const pushedOut = await SseClient.open(streamUrl(servers[0]!, small.id), {
      'Last-Event-ID': early,
    });
    clients.push(pushedOut);
    const snapshot = await pushedOut.until(() => pushedOut.ofType('snapshot')[0], 'a snapshot');
    expect(
      JSON.parse(snapshot.data).seats.every((s: { status: string }) => s.status === 'available'),
    ).toBe(true);
    await pushedOut.close();
  }, 60_000);

  it('when a subscriber stops reading, then it is disconnected once it falls behind, while the others keep receiving', async () => {
    const dropsBefore = (await liveMapDropped.get()).values[0]?.value ?? 0;
    const fast = await subscribe(servers[0]!);
    await fast.until(() => fast.ofType('snapshot').length > 0, 'snapshot');
    const stalled = stalledSubscriber(servers[0]!, session.id);
    await stalled.connected;

    // Ten-seat holds and releases: about a kilobyte of events each, until the server gives up
    // on the client that reads nothing.
    const seatIds = dealer.freshSeats(10);
    let rounds = 0;
    await waitFor(
      async () => {
        await release(await holdSeats(api.app, users[5]!, seatIds));
        rounds++;
        return ((await liveMapDropped.get()).values[0]?.value ?? 0) > dropsBefore;
      },
      { what: 'the stalled subscriber to be dropped', timeoutMs: 60_000, intervalMs: 0 },
    );
    await fast.until(
      () => fast.historyOf(seatIds[9]!).length === rounds * 2,
      'the fast subscriber to have every change',
    );
    stalled.child.kill('SIGKILL');
    await fast.close();
  });
});

/**
 * The connections of this file's feeds, on every master: a feed's reader opens one of its own on
 * one Redis server, and none on a cluster (it reads through the cluster client's connections).
 */
async function feedConnections(): Promise<number> {
  const lists = await Promise.all(
    (await mastersOf(api.redis)).map((master) => master.client('LIST') as Promise<string>),
  );
  return lists
    .flatMap((list) => list.split('\n'))
    .filter(
      (line) =>
        line.includes(`name=${FEED_CONNECTION_NAME} `) && line.includes(` db=${redisDb.db} `),
    ).length;
}
const readerConnections = () => (isCluster(api.redis) ? 0 : 1);

const comparePositions = (a: string, b: string) => {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
};

/**
 * A client that subscribes, reads the first bytes and then never reads again, with a tiny
 * receive buffer (Python's socket API can set SO_RCVBUF; Node's cannot), so the server's writes
 * back up quickly, as they would behind a stalled mobile connection.
 */
function stalledSubscriber(server: RealServer, sessionId: string) {
  const { port } = new URL(server.baseUrl);
  const script = `
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect(('127.0.0.1', ${port}))
s.sendall(b'GET /api/v1/sessions/${sessionId}/seats/stream HTTP/1.1\\r\\nHost: t\\r\\nAccept: text/event-stream\\r\\n\\r\\n')
s.recv(1024)
print('connected', flush=True)
time.sleep(120)
`;
  const child: ChildProcess = spawn('python3', ['-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const connected = new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`stalled client exited ${code}`)));
  });
  return { child, connected };
}

describe('bounded streams', () => {
  /** An API instance of its own (so its stream counts start at zero) with these caps. */
  async function cappedServer(caps: Partial<typeof api.db.config.liveMap>) {
    const config = { ...api.db.config, liveMap: { ...api.db.config.liveMap, ...caps } };
    const feed = new SeatMapFeed(api.redis, silentLogger);
    const instance = await apiInstance({ ...api.db, config }, { seatMapFeed: feed });
    const server = await startRealServer(instance.app);
    feeds.push(feed);
    servers.push(server);
    instances.push(instance);
    return server;
  }

  /** A session of a new movie of `minutes`, started `minutesAgo` ago, in the big session's room. */
  async function sessionStarted(minutesAgo: number, minutes: number): Promise<string> {
    const movie = await request(api.app)
      .post('/api/v1/movies')
      .set(api.adminAuth)
      .send({ title: `Started ${minutesAgo} min ago`, durationMinutes: minutes })
      .expect(201);
    const created = await request(api.app)
      .post('/api/v1/sessions')
      .set(api.adminAuth)
      .send({
        movieId: movie.body.id,
        roomId: session.room.id,
        startsAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
        priceCents: 1000,
      })
      .expect(201);
    return created.body.id;
  }

  const refusal = async (url: string) => {
    const res = await fetch(url, { headers: { accept: 'text/event-stream' } });
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: (await res.json()) as { error: { code: string; message: string } },
    };
  };

  it('when the session has ended, then its stream is 404 like an unknown one, while a session still running streams', async () => {
    const ended = await sessionStarted(120, 90);
    const running = await sessionStarted(30, 90);
    const gone = await refusal(streamUrl(servers[0]!, ended));
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('SESSION_NOT_FOUND');

    const live = await SseClient.open(streamUrl(servers[0]!, running));
    clients.push(live);
    expect(live.status).toBe(200);
    await live.until(() => live.ofType('snapshot').length > 0, 'the running session snapshot');
    await live.close();
  });

  it('when one address has 8 streams open, then a 9th is 503 TOO_MANY_STREAMS with Retry-After, and a slot comes back when one closes', async () => {
    const server = await cappedServer({ maxStreamsPerAddress: 8, maxStreams: 100 });
    const open = await Promise.all(
      Array.from({ length: 8 }, () => SseClient.open(streamUrl(server))),
    );
    clients.push(...open);
    expect(open.map((client) => client.status)).toEqual(Array(8).fill(200));

    const ninth = await refusal(streamUrl(server));
    expect(ninth.status).toBe(503);
    expect(Number(ninth.retryAfter)).toBeGreaterThan(0);
    expect(ninth.body.error).toMatchObject({
      code: 'TOO_MANY_STREAMS',
      message: expect.any(String),
    });

    await open[0]!.close();
    const again = await waitFor(
      async () => {
        const client = await SseClient.open(streamUrl(server));
        clients.push(client);
        return client.status === 200 ? client : false;
      },
      { what: 'the closed stream to give its slot back' },
    );
    await again.until(() => again.ofType('snapshot').length > 0, 'a snapshot on the new stream');
    await Promise.all([again, ...open].map((client) => client.close()));
  });

  it('when the process has LIVE_MAP_MAX_STREAMS streams open, then one more is 503 STREAMS_BUSY with Retry-After', async () => {
    const server = await cappedServer({ maxStreamsPerAddress: 8, maxStreams: 3 });
    const open = await Promise.all(
      Array.from({ length: 3 }, () => SseClient.open(streamUrl(server))),
    );
    clients.push(...open);
    expect(open.map((client) => client.status)).toEqual([200, 200, 200]);
    const fourth = await refusal(streamUrl(server));
    expect(fourth.status).toBe(503);
    expect(Number(fourth.retryAfter)).toBeGreaterThan(0);
    expect(fourth.body.error.code).toBe('STREAMS_BUSY');
    await Promise.all(open.map((client) => client.close()));
  });

  it('when 50 sessions are watched instead of 1, then the feed uses no more Redis connections, and every session still gets its changes', async () => {
    const feed = new SeatMapFeed(api.redis, silentLogger);
    const sessionIds = Array.from({ length: 50 }, () => randomUUID());
    const got = new Map<string, string[]>(sessionIds.map((id) => [id, []]));
    const watch = (sessionId: string) =>
      feed.subscribe(sessionId, LOG_START, {
        deliver: (entries) => got.get(sessionId)!.push(...entries.map(([, data]) => data)),
        end: () => {},
      });
    const unsubscribes = [await watch(sessionIds[0]!)];
    try {
      await waitFor(async () => (await feedConnections()) === readerConnections(), {
        what: 'the reader of one session',
      });
      const withOne = await feedConnections();
      unsubscribes.push(...(await Promise.all(sessionIds.slice(1).map(watch))));
      expect(feed.activeSessions).toBe(50);
      expect(await feedConnections()).toBe(withOne);

      // The sessions joined while a read was blocked: each is read at once all the same.
      await Promise.all(
        sessionIds.map((id) => api.redis.xadd(seatLogKey(id), '*', 'data', JSON.stringify({ id }))),
      );
      await waitFor(() => [...got.values()].every((data) => data.length === 1), {
        what: 'a change of every session',
        timeoutMs: 2_000,
      });
      expect(await feedConnections()).toBe(withOne);
    } finally {
      unsubscribes.forEach((unsubscribe) => unsubscribe());
      await feed.close();
      // One key per command: on a cluster each log has a slot of its own.
      await Promise.all(sessionIds.map((id) => api.redis.del(seatLogKey(id))));
    }
  });
});

describe('a feed that batches changes', () => {
  it('when changes come in a burst, then each up-to-date subscriber gets the burst in one delivery, the same array for all, in order', async () => {
    const feed = new SeatMapFeed(api.redis, silentLogger, { batchMs: 500 });
    const sessionId = randomUUID();
    const key = seatLogKey(sessionId);
    const deliveries: (readonly SeatLogEntry[])[][] = [[], []];
    const unsubscribes = await Promise.all(
      deliveries.map((got) =>
        feed.subscribe(sessionId, LOG_START, { deliver: (e) => got.push(e), end: () => {} }),
      ),
    );
    try {
      const change = (n: number) => api.redis.xadd(key, '*', 'data', JSON.stringify({ n }));
      const numbers = (got: (readonly SeatLogEntry[])[]) =>
        got.flat().map(([, data]) => (JSON.parse(data) as { n: number }).n);

      // A first change after a quiet spell goes out at once...
      await change(0);
      await waitFor(() => deliveries.every((got) => got.length === 1), {
        what: 'the first change',
      });
      // ...and the changes right after it wait for the rest of the batch window, together.
      for (let n = 1; n <= 5; n++) await change(n);
      await waitFor(() => deliveries.every((got) => numbers(got).length === 6), {
        what: 'the burst',
      });

      for (const got of deliveries) {
        expect(numbers(got)).toEqual([0, 1, 2, 3, 4, 5]);
        expect(got.map((entries) => entries.length)).toEqual([1, 5]);
      }
      expect(deliveries[0]![1]).toBe(deliveries[1]![1]);
    } finally {
      unsubscribes.forEach((unsubscribe) => unsubscribe());
      await feed.close();
      await api.redis.del(key);
    }
  });
});
