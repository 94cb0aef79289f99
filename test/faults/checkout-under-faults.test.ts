import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { connect, type ChannelModel } from 'amqplib';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Order, Payment, Receipt, Ticket } from '../../shared/db/entities';
import { initOrm, type Orm } from '../../shared/db/orm';
import { EVENTS_EXCHANGE, type EventEnvelope } from '../../shared/events';
import { payingKey, SOLD_PREFIX } from '../../shared/holds/keys';
import { createRedis } from '../../shared/redis';
import { asBuyer, insertBuyers } from '../support/buyers';
import { scanKeys } from '../support/cinema';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { envOf, freePort, startEntryProcess, type EntryProcess } from '../support/processes';
import { createTestVhost, type TestVhost } from '../support/rabbitmq';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { waitFor } from '../support/wait';

/**
 * §1 "nothing is lost", under every fault at once, with real processes: the API and each worker
 * kind run as their own OS processes against the real PostgreSQL, Redis and RabbitMQ, while a few
 * hundred paced checkouts go through the public HTTP API. Meanwhile each process is killed -9 and
 * started again, RabbitMQ's app is stopped and started, PostgreSQL is restarted, and the
 * finaliser is started last of all. Afterwards every accepted payment must be exactly one paid
 * order (or one failed order with its refund and its seats free again), with exact counts in
 * Postgres and Redis.
 *
 * It restarts the shared servers, so it runs alone (`npm run test:faults`, after the other suites).
 */
jest.setTimeout(10 * 60_000);

const run = promisify(execFile);
const CLIENTS = 8;
/**
 * Checkouts started per second, until every fault has hit and FAULT_EVERY more were accepted:
 * every fault lands in the middle of traffic however long the faults take on the machine.
 */
const PACE_PER_SECOND = 7;
/** Accepted payments between one fault and the next. */
const FAULT_EVERY = 22;
/** A client retries a request that hit a dead or restarting API this long before giving up. */
const CLIENT_PATIENCE_MS = 60_000;

type Kind = 'api' | 'holds' | 'payments' | 'finaliser' | 'notifier' | 'event-relay';
const WORKER_KINDS: Exclude<Kind, 'api'>[] = ['holds', 'payments', 'notifier', 'event-relay'];

let db: TestDatabase;
let redisDb: OwnRedisDb;
let vhost: TestVhost;
const processes = new Map<Kind, { proc: EntryProcess; port: number }>();
let apiBase = '';
let spyConnection: ChannelModel | undefined;
let stopTraffic = false;
const timeline: string[] = [];
const COMPLETED_SPY = `fault-suite.order-completed.${randomUUID()}`;

async function start(kind: Kind): Promise<void> {
  const port = processes.get(kind)?.port ?? (await freePort());
  const entry =
    kind === 'api' ? path.join('api', 'main.ts') : path.join('workers', kind, 'main.ts');
  const env = envOf(db.config, {
    REDIS_DB: redisDb.db,
    RABBITMQ_URL: vhost.url,
    RATE_LIMIT_PER_USER: '0',
    RATE_LIMIT_PER_IP: '0',
    // A stalled payment is driven on after 5 s (20 s in production): the suite waits less.
    PAYMENT_STUCK_AFTER_SECONDS: '5',
    PAYMENT_RECONCILE_EVERY_SECONDS: '1',
    ...(kind === 'api' ? { PORT: String(port) } : { METRICS_PORT: String(port) }),
  });
  const proc = await startEntryProcess(entry, env, `http://127.0.0.1:${port}/health/ready`);
  processes.set(kind, { proc, port });
  if (kind === 'api') apiBase = `http://127.0.0.1:${port}`;
}

async function killAndRestart(kind: Kind): Promise<void> {
  expect(await processes.get(kind)!.proc.kill()).toBe('SIGKILL');
  await start(kind);
}

const pgVersion = () => readdirSync('/etc/postgresql')[0]!;
async function restartRabbitmq(whileDown: () => Promise<unknown>): Promise<void> {
  await run('rabbitmqctl', ['-q', 'stop_app']);
  try {
    await whileDown();
  } finally {
    await run('rabbitmqctl', ['-q', 'start_app']);
  }
  await run('rabbitmq-diagnostics', ['-q', 'check_port_listener', '5672']);
}
async function restartPostgres(): Promise<void> {
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', pgVersion(), 'main', 'restart']);
  await waitFor(
    () =>
      run('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']).then(
        () => true,
        () => false,
      ),
    { what: 'PostgreSQL back', timeoutMs: 60_000, intervalMs: 200 },
  );
}

interface Answer {
  status: number;
  body: { [key: string]: unknown; error?: { code: string } };
}

/**
 * One API call as a patient client makes it: a connection refused or reset (the API process is
 * dead or restarting), a 5xx or a 409 IDEMPOTENCY_KEY_IN_USE is retried with the same
 * Idempotency-Key until it answers for real.
 */
async function call(
  method: string,
  route: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer & { retried: boolean }> {
  const deadline = Date.now() + CLIENT_PATIENCE_MS;
  for (let attempt = 0; ; attempt++) {
    const answer = await fetch(`${apiBase}${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...options.headers },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(10_000),
    }).then(
      async (res) => ({
        status: res.status,
        body: (await res.json().catch(() => ({}))) as Answer['body'],
      }),
      () => undefined,
    );
    const transient =
      !answer ||
      answer.status >= 500 ||
      (answer.status === 409 && answer.body.error?.code === 'IDEMPOTENCY_KEY_IN_USE');
    if (!transient) return { ...answer, retried: attempt > 0 };
    if (stopTraffic) throw new Error('traffic stopped');
    if (Date.now() > deadline)
      throw new Error(`${method} ${route} kept failing: ${answer?.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Checkout {
  seatIds: string[];
  orderId?: string;
  /** Why no payment was accepted, if none was. */
  refused?: string;
}

/** Hold, confirm, pay (pix), each step retried through crashes with its own Idempotency-Key. */
async function checkout(userId: string, seatIds: string[]): Promise<Checkout> {
  const idempotent = () => ({ 'Idempotency-Key': randomUUID() });
  const buyer = asBuyer(userId);
  const held = await call('POST', '/api/v1/holds', {
    body: { seatIds },
    headers: { ...buyer, ...idempotent() },
  });
  if (held.status !== 201)
    return { seatIds, refused: `hold ${held.status} ${held.body.error?.code}` };
  const { holdId, holdToken } = held.body as { holdId: string; holdToken: string };
  const token = { ...buyer, 'X-Hold-Token': holdToken };
  const confirmed = await call('POST', `/api/v1/holds/${holdId}/confirm`, { headers: token });
  if (confirmed.status !== 200) return { seatIds, refused: `confirm ${confirmed.status}` };
  const paid = await call('POST', `/api/v1/holds/${holdId}/payment`, {
    body: { method: 'pix' },
    headers: { ...token, ...idempotent() },
  });
  if (paid.status !== 202) return { seatIds, refused: `payment ${paid.status}` };
  return { seatIds, orderId: paid.body.orderId as string };
}

beforeAll(async () => {
  redisDb = await claimRedisDb();
  vhost = await createTestVhost();
  db = await createTestDatabase();
  // Every order.completed, in a durable queue of the suite's own that outlives the broker restart.
  spyConnection = await connect(vhost.url);
  const channel = await spyConnection.createChannel();
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(COMPLETED_SPY, { durable: true });
  await channel.bindQueue(COMPLETED_SPY, EVENTS_EXCHANGE, 'order.completed');
  await spyConnection.close();
  spyConnection = undefined;
});

afterAll(async () => {
  stopTraffic = true;
  console.info(`fault timeline:\n${timeline.join('\n')}`);
  await Promise.all([...processes.values()].map(({ proc }) => proc.kill()));
  const redis = createRedis({
    ...db.config,
    redis: { ...db.config.redis, db: Number(redisDb.db) },
  });
  await redis.flushdb();
  await redis.quit();
  await redisDb?.release();
  await vhost?.delete();
  await db?.drop();
});

describe('checkout under faults', () => {
  it('when every process is killed -9 and restarted, RabbitMQ and PostgreSQL restart and the finaliser starts last, during paced checkouts, then every accepted payment ends as exactly one paid order', async () => {
    // Every kind but the finaliser, each on its own, in the order a container runtime may pick.
    await start('api');
    for (const kind of WORKER_KINDS) await start(kind);
    await redisDb.mark();

    const admin = { Authorization: `Bearer ${db.config.adminToken}` };
    const sessions = (await call('GET', '/api/v1/sessions')).body as unknown as {
      id: string;
      movie: { id: string };
      room: { id: string };
      seatsTotal: number;
    }[];
    const big = sessions.find((s) => s.seatsTotal === 200)!;
    const startsAt = new Date(Date.now() + 7 * 24 * 3600_000).toISOString();
    const extra = await Promise.all(
      [1, 2, 3].map(async (day) => {
        const created = await call('POST', '/api/v1/sessions', {
          headers: admin,
          body: {
            movieId: big.movie.id,
            roomId: big.room.id,
            startsAt: new Date(Date.parse(startsAt) + day * 3600_000).toISOString(),
            priceCents: 2500,
          },
        });
        expect(created.status).toBe(201);
        return created.body.id as string;
      }),
    );
    const seats: string[][] = [];
    for (const sessionId of [big.id, ...extra]) {
      const map = (await call('GET', `/api/v1/sessions/${sessionId}`)).body as unknown as {
        seats: { id: string }[];
      };
      // Pairs and singles of one session each: one or two seats per checkout.
      for (let i = 0; i < map.seats.length;) {
        const size = seats.length % 3 === 0 ? 2 : 1;
        seats.push(map.seats.slice(i, i + size).map((s) => s.id));
        i += size;
      }
    }
    const buyers = await insertBuyers(db, 60, 'Fault buyer');

    // Paced traffic: checkout i starts at i / PACE_PER_SECOND s, on one of CLIENTS buyers' tabs.
    const checkouts: Checkout[] = [];
    let next = 0;
    let started = 0;
    let enough = false;
    const trafficStartedAt = Date.now();
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (next < seats.length && !enough && !stopTraffic) {
        const i = next++;
        const due = trafficStartedAt + (i * 1000) / PACE_PER_SECOND;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
        started++;
        checkouts.push(await checkout(buyers[i % buyers.length]!, seats[i]!));
      }
    });
    // A failed assertion below must not leave clients hammering processes being torn down.
    const traffic = Promise.all(clients).finally(() => (stopTraffic = true));
    traffic.catch(() => undefined);
    const accepted = () => checkouts.filter((c) => c.orderId).length;
    const afterMore = async (count: number) => {
      const target = Math.min(accepted() + count, seats.length);
      await waitFor(() => accepted() >= target || started >= seats.length, {
        what: `${target} accepted payments`,
        timeoutMs: 120_000,
        intervalMs: 50,
      });
    };

    const faults: [string, () => Promise<void>][] = [
      ['start the finaliser, last of all', () => start('finaliser')],
      ['kill -9 the payments worker', () => killAndRestart('payments')],
      ['kill -9 the API', () => killAndRestart('api')],
      ['kill -9 the finaliser', () => killAndRestart('finaliser')],
      ['kill -9 the event relay', () => killAndRestart('event-relay')],
      ['restart RabbitMQ', () => restartRabbitmq(() => afterMore(20))],
      ['kill -9 the holds worker', () => killAndRestart('holds')],
      ['restart PostgreSQL', restartPostgres],
      ['kill -9 the notifier', () => killAndRestart('notifier')],
    ];
    const startedAt = Date.now();
    const at = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
    for (const [name, fault] of faults) {
      await afterMore(FAULT_EVERY);
      const began = Date.now();
      // Faults hit live traffic, not its aftermath.
      expect(started).toBeLessThan(seats.length);
      timeline.push(`${at()}  ${accepted()} accepted  ${name}`);
      await fault();
      timeline.push(`${at()}  ${accepted()} accepted  … done in ${Date.now() - began} ms`);
    }
    const faultsEndedAt = Date.now();
    await afterMore(FAULT_EVERY);
    enough = true;
    await traffic;
    timeline.push(`${at()}  ${accepted()} accepted  traffic over`);

    // Every accepted payment final within a minute of the last fault ending.
    const sales = checkouts.filter((c): c is Checkout & { orderId: string } => !!c.orderId);
    const orderIds = sales.map((s) => s.orderId);
    const orm: Orm = await initOrm(db.config);
    const redis = createRedis({
      ...db.config,
      redis: { ...db.config.redis, db: Number(redisDb.db) },
    });
    try {
      const em = () => orm.em.fork() as EntityManager;
      await waitFor(
        async () =>
          (await em().count(Order, {
            id: { $in: orderIds },
            status: { $in: ['paid', 'failed'] },
          })) === orderIds.length,
        {
          what: 'every accepted payment final',
          timeoutMs: 60_000 - (Date.now() - faultsEndedAt),
          intervalMs: 250,
        },
      );

      timeline.push(`${at()}  every accepted payment final`);

      // No checkout was refused: a crash cost a buyer time, never the seats or the payment.
      expect(checkouts.filter((c) => c.refused)).toEqual([]);
      expect(sales).toHaveLength(checkouts.length);
      expect(new Set(orderIds).size).toBe(orderIds.length);

      const paid = await em().find(Order, { status: 'paid' });
      const failed = await em().find(Order, { status: 'failed' });
      expect(await em().count(Order, {})).toBe(orderIds.length);
      expect(paid.length + failed.length).toBe(orderIds.length);
      // Seats were never contended here, so no sale can have lost its seat.
      expect(failed).toEqual([]);

      // One active ticket per sold seat, each seat once; exactly the seats of the accepted checkouts.
      const tickets = await em().find(Ticket, { status: 'active' });
      const soldSeats = tickets.map((t) => t.seat.id);
      expect(new Set(soldSeats).size).toBe(soldSeats.length);
      expect([...soldSeats].sort()).toEqual(sales.flatMap((s) => s.seatIds).sort());

      // One approved payment per paid order.
      const payments = await em().find(Payment, { status: 'approved' });
      expect(payments).toHaveLength(paid.length);
      expect(new Set(payments.map((p) => p.order.id))).toEqual(new Set(paid.map((o) => o.id)));

      // A receipt per paid order (the notifier).
      await waitFor(async () => (await em().count(Receipt, {})) === paid.length, {
        what: 'a receipt per paid order',
        timeoutMs: 30_000,
      });
      expect(new Set((await em().find(Receipt, {})).map((r) => r.order.id))).toEqual(
        new Set(paid.map((o) => o.id)),
      );

      // Redis's sold seats are Postgres's, each sold to its order; nothing is left paying.
      const soldInRedis = new Map<string, string>();
      for (const sessionId of [big.id, ...extra]) {
        expect(await redis.zcard(payingKey(sessionId))).toBe(0);
        for (const key of await scanKeys(redis, `seat:{${sessionId}}:*`)) {
          const value = await redis.get(key);
          if (value?.startsWith(SOLD_PREFIX)) soldInRedis.set(key.split(':').pop()!, value);
        }
      }
      expect([...soldInRedis.keys()].sort()).toEqual([...soldSeats].sort());
      for (const ticket of tickets)
        expect(soldInRedis.get(ticket.seat.id)).toBe(`${SOLD_PREFIX}${ticket.order.id}`);

      // order.completed was published for every paid order (at least once; ids dedupe).
      spyConnection = await connect(vhost.url);
      const channel = await spyConnection.createChannel();
      const completed = new Set<string>();
      await waitFor(
        async () => {
          for (let msg = await channel.get(COMPLETED_SPY, { noAck: true }); msg;) {
            completed.add(
              (JSON.parse(msg.content.toString()) as EventEnvelope).data.orderId as string,
            );
            msg = await channel.get(COMPLETED_SPY, { noAck: true });
          }
          return completed.size === paid.length;
        },
        { what: 'order.completed for every paid order', timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(completed).toEqual(new Set(paid.map((o) => o.id)));
      await channel.deleteQueue(COMPLETED_SPY);
    } finally {
      await spyConnection?.close().catch(() => undefined);
      await redis.quit();
      await orm.close(true);
    }
  });
});
