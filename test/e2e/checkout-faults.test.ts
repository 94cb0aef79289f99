import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type Server } from 'node:http';
import {
  connect as connectTcp,
  createServer as createNetServer,
  type AddressInfo,
  type Socket,
} from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHash, randomUUID } from 'node:crypto';
import type { RecoveringChannelModel } from 'amqplib';
import { Worker } from 'bullmq';
import request from 'supertest';
import { asOwnerOf, insertBuyers } from '../support/buyers';
import { Order, Payment, ProcessedMessage, Ticket } from '../../shared/db/entities';
import { eventIdFor, type EventEnvelope } from '../../shared/events';
import { createHoldContext } from '../../shared/holds/hold-context';
import { loadLua } from '../../shared/holds/scripts';
import { holdKey, payingKey, seatKey } from '../../shared/holds/keys';
import { paymentsReconciled } from '../../shared/metrics';
import type { PaymentApproved } from '../../shared/orders/contracts';
import { FINALISER, finalisePayments } from '../../shared/payments/finalise-payments';
import { chargePayment, type ChargeDependencies } from '../../shared/payments/charge-payment';
import { bullConnection, paymentJobId, QUEUES, type PaymentJob } from '../../shared/queues';
import { connectRabbit, EventPublisher } from '../../shared/rabbitmq';
import { eventRelayWorker } from '../../workers/event-relay/worker';
import { finaliserWorker } from '../../workers/finaliser/worker';
import { holdsWorker } from '../../workers/holds/worker';
import { notifierWorker } from '../../workers/notifier/worker';
import { paymentsWorker } from '../../workers/payments/worker';
import type { WorkerKind } from '../../workers/runtime';
import { envOf, freePort, startEntryProcess } from '../support/processes';
import { startTestApi, type TestApi } from '../support/api';
import { confirmedHold, Dealer, seededCinema, type Hold } from '../support/cinema';
import { silentLogger } from '../support/database';
import { createTestVhost, EventSpy } from '../support/rabbitmq';
import { claimRedisDb, type OwnRedisDb } from '../support/redis-db';
import { waitFor } from '../support/wait';
import { startWorkers } from '../support/workers';

/**
 * The checkout under load and faults (§6): many buyers at once, a finaliser killed -9 in the
 * middle of a batch, every RabbitMQ connection cut, a payment job run twice. Each test builds its
 * own world (vhost, database, workers) and tears it down, so a fault cannot leak into the next.
 *
 * Its own Redis db, claimed for the whole file: BullMQ queues and the relay's streams are per db,
 * and a finaliser child process shares it, so no other file or run may use it meanwhile.
 */
const execRabbitmqctl = (...args: string[]) =>
  promisify(execFile)('rabbitmqctl', ['-q', ...args]).then(({ stdout }) => stdout);

jest.setTimeout(90_000);

const EVERY_WORKER = [
  holdsWorker,
  paymentsWorker,
  finaliserWorker,
  notifierWorker,
  eventRelayWorker,
];

let redisDb: OwnRedisDb;
beforeAll(async () => {
  redisDb = await claimRedisDb();
});
afterAll(async () => {
  await redisDb?.release();
});

/** Things to undo after the current test, last first, whether it passed or not. */
let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  const pending = cleanups.reverse();
  cleanups = [];
  for (const cleanup of pending) await cleanup().catch(() => undefined);
});

/** One test's world: a vhost, the API (on a real HTTP port) on a fresh database, some workers. */
async function checkoutWorld(kinds: WorkerKind[], env: Record<string, string> = {}) {
  const vhost = await createTestVhost();
  cleanups.push(() => vhost.delete());
  const api = await startTestApi({ RABBITMQ_URL: vhost.url, REDIS_DB: redisDb.db, ...env });
  // startTestApi and close() flush the db, and the claim with it: claim it again after each.
  await redisDb.mark();
  cleanups.push(() => redisDb.mark());
  cleanups.push(() => api.close());
  const workers = await startWorkers(api.db.config, kinds);
  cleanups.push(() => workers.stop());
  const server: Server = createHttpServer(api.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const http = () => request(baseUrl);

  const { users, big: session } = await seededCinema(baseUrl);
  const { freshSeats } = new Dealer(session.seats);
  const em = () => api.db.orm.em.fork();

  const pay = async (
    hold: Hold,
    method: 'pix' | 'credit_card' | 'declined_card' = 'pix',
  ): Promise<string> => {
    const body =
      method === 'pix'
        ? { method }
        : {
            method: 'credit_card',
            card: {
              number: method === 'declined_card' ? '4000000000000002' : '4111111111111111',
              holderName: 'Ana Souza',
              expMonth: 12,
              expYear: 2031,
              cvv: '123',
            },
          };
    const res = await http()
      .post(`/api/v1/holds/${hold.holdId}/payment`)
      .set(asOwnerOf(hold))
      .send(body)
      .expect(202);
    return res.body.orderId;
  };
  const paidCount = () => em().count(Order, { status: 'paid' });
  const allPaid = (n: number, timeoutMs = 30_000) =>
    waitFor(async () => (await paidCount()) === n, { what: `${n} paid orders`, timeoutMs });
  const seatMap = async () =>
    new Map(
      (await http().get(`/api/v1/sessions/${session.id}`).expect(200)).body.seats.map(
        (s: { id: string; status: string }) => [s.id, s.status],
      ),
    ) as Map<string, string>;

  /**
   * Every accepted payment is exactly one paid order with its tickets and payment, no seat has
   * two active tickets, and Redis shows exactly the bought seats sold, each to its order.
   */
  const expectEverySalePaidOnce = async (sales: { hold: Hold; orderId: string }[]) => {
    const db = em();
    // Declined payments are not sales: only they may be orders beyond these.
    expect(await db.count(Order, { status: { $ne: 'declined' } })).toBe(sales.length);
    expect(await db.count(Order, { status: 'paid' })).toBe(sales.length);
    expect(await db.count(Payment, { status: 'approved' })).toBe(sales.length);
    const tickets = await db.find(Ticket, { status: 'active' }, { populate: ['order'] });
    const seatsBought = sales.flatMap((s) => s.hold.seatIds);
    expect(tickets).toHaveLength(seatsBought.length);
    expect(new Set(tickets.map((t) => t.seat.id)).size).toBe(tickets.length);
    for (const { hold, orderId } of sales) {
      expect(await db.count(Order, { holdId: hold.holdId })).toBe(1);
      const own = tickets.filter((t) => t.order.id === orderId).map((t) => t.seat.id);
      expect(own.sort()).toEqual([...hold.seatIds].sort());
      for (const seatId of hold.seatIds)
        expect(await api.redis.get(seatKey(session.id, seatId))).toBe(`sold:${orderId}`);
    }
    const map = await seatMap();
    const sold = [...map].filter(([, status]) => status === 'sold').map(([id]) => id);
    expect(sold.sort()).toEqual([...seatsBought].sort());
  };

  return {
    vhost,
    api,
    baseUrl,
    http,
    users,
    session,
    freshSeats,
    em,
    confirmedHold: (userId: string, seatIds: string[]) => confirmedHold(baseUrl, userId, seatIds),
    pay,
    paidCount,
    allPaid,
    expectEverySalePaidOnce,
  };
}

/** A port nothing listens on right now, for a child process's health server. */
/** The finaliser as its own process (`workers/finaliser/main.ts`), ready once it answers /health/ready. */
async function spawnFinaliser(api: TestApi, rabbitmqUrl: string) {
  const port = await freePort();
  const finaliser = await startEntryProcess(
    path.join('workers', 'finaliser', 'main.ts'),
    envOf(api.db.config, { RABBITMQ_URL: rabbitmqUrl, METRICS_PORT: String(port) }),
    `http://127.0.0.1:${port}/health/ready`,
  );
  cleanups.push(finaliser.kill);
  return finaliser;
}

/**
 * A TCP proxy to Redis for one process: it forwards everything until that process has sent a
 * command carrying one of `markers` (a script's SHA or text) and a reply has come back on that
 * connection, then drops all the process sends, so nothing after that script reaches Redis.
 * `cutOff` resolves at that moment.
 */
async function redisProxyCuttingOffAfter(
  target: { host: string; port: number },
  markers: string[],
) {
  let cut = false;
  let onCut = () => {};
  const cutOff = new Promise<void>((resolve) => (onCut = resolve));
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const upstream = connectTcp(target.port, target.host);
    let sentMarker = false;
    client.on('data', (chunk) => {
      if (cut) return;
      if (markers.some((marker) => chunk.includes(marker))) sentMarker = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      client.write(chunk);
      if (sentMarker && !cut) {
        cut = true;
        onCut();
      }
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cutOff,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function vhostConnections(vhost: string): Promise<string[]> {
  const out = await execRabbitmqctl('list_connections', 'pid', 'vhost');
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 2 && cols[1] === vhost)
    .map(([pid]) => pid!);
}

describe('checkout under load and faults', () => {
  it('when 40 buyers check out at once, then all 40 orders are paid, with every seat sold exactly once', async () => {
    const world = await checkoutWorld(EVERY_WORKER);
    const buyers = await insertBuyers(world.api.db, 40);
    // Every other buyer takes two seats: 60 seats of the 200, none shared.
    const wanted = buyers.map((userId, i) => ({ userId, seatIds: world.freshSeats(1 + (i % 2)) }));

    const sales = await Promise.all(
      wanted.map(async ({ userId, seatIds }, i) => {
        const hold = await world.confirmedHold(userId, seatIds);
        const orderId = await world.pay(hold, i % 3 === 0 ? 'credit_card' : 'pix');
        return { hold, orderId };
      }),
    );
    expect(new Set(sales.map((s) => s.orderId)).size).toBe(40);

    await world.allPaid(40);
    await world.expectEverySalePaidOnce(sales);
    const orders = await world.em().find(Order, {}, { populate: ['user'] });
    expect(new Set(orders.map((o) => o.user.id))).toEqual(new Set(buyers));
    expect(await world.em().count(Ticket, { status: 'active' })).toBe(60);
  });

  it('when the finaliser is killed -9 in the middle of a batch and started again, then every accepted payment ends as exactly one paid order', async () => {
    const world = await checkoutWorld([holdsWorker, paymentsWorker, eventRelayWorker]);
    let finaliser = await spawnFinaliser(world.api, world.vhost.url);
    const holds = await Promise.all(
      Array.from({ length: 36 }, (_, i) =>
        world.confirmedHold(world.users[i % world.users.length]!.id, world.freshSeats(1)),
      ),
    );
    const firstWave = holds.slice(0, 12);
    const secondWave = holds.slice(12);

    const sales = await Promise.all(
      firstWave.map(async (hold) => ({ hold, orderId: await world.pay(hold) })),
    );
    await world.allPaid(firstWave.length);

    // Hold the finaliser's next batch in the middle of its transaction: its ticket inserts wait
    // on this lock, after its orders are written and before anything is committed.
    const knex = world.api.db.orm.em.getKnex();
    const lock = await knex.transaction();
    cleanups.push(() => lock.rollback());
    await lock.raw('lock table tickets in share mode');

    sales.push(
      ...(await Promise.all(
        secondWave.map(async (hold) => ({ hold, orderId: await world.pay(hold) })),
      )),
    );
    const db = world.api.db.config.db.name;
    await waitFor(
      async () => {
        const { rows } = await knex.raw(
          `select count(*)::int as n from pg_stat_activity
            where datname = ? and wait_event_type = 'Lock' and query ilike '%tickets%'`,
          [db],
        );
        return rows[0].n > 0;
      },
      { what: 'a finaliser batch waiting mid-transaction' },
    );
    expect(await finaliser.kill()).toBe('SIGKILL');
    await lock.rollback();
    // The batch in hand died with the process: nothing of it was committed.
    expect(await world.paidCount()).toBe(firstWave.length);

    finaliser = await spawnFinaliser(world.api, world.vhost.url);
    await world.allPaid(holds.length);
    await world.expectEverySalePaidOnce(sales);
    expect(await world.em().count(ProcessedMessage, { consumer: FINALISER })).toBe(holds.length);
    expect(await world.em().count(Order, { status: { $in: ['failed', 'refunded'] } })).toBe(0);
  });

  it("when the workers' RabbitMQ connections are closed while payments are in flight, then they reconnect and every accepted payment, and a later one, is paid", async () => {
    const world = await checkoutWorld(EVERY_WORKER);
    const before = await waitFor(
      async () => {
        const pids = await vhostConnections(world.vhost.name);
        // payments, finaliser, notifier and event relay: one connection each.
        return pids.length >= 4 && pids;
      },
      { what: 'worker connections' },
    );
    const holds = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        world.confirmedHold(world.users[i % world.users.length]!.id, world.freshSeats(1)),
      ),
    );

    const paying = holds.map(async (hold) => ({ hold, orderId: await world.pay(hold) }));
    // Cut as soon as the first sale lands: the rest are queued, charging or finalising.
    const paidAtDrop = await waitFor(
      async () => {
        const paid = await world.paidCount();
        return paid > 0 && paid;
      },
      { what: 'a first sale', intervalMs: 5 },
    );
    await Promise.all(
      before.map((pid) => execRabbitmqctl('close_connection', pid, 'test: connection dropped')),
    );
    expect(paidAtDrop).toBeLessThan(holds.length);
    const sales = await Promise.all(paying);

    await waitFor(
      async () => {
        const pids = await vhostConnections(world.vhost.name);
        return pids.length >= before.length && pids.every((pid) => !before.includes(pid));
      },
      { what: 'workers reconnected', timeoutMs: 20_000, intervalMs: 200 },
    );
    await world.allPaid(holds.length);

    const later = await world.confirmedHold(world.users[0]!.id, world.freshSeats(2));
    sales.push({ hold: later, orderId: await world.pay(later, 'credit_card') });
    await world.allPaid(holds.length + 1);
    await world.expectEverySalePaidOnce(sales);
    // order.completed still flows from the outbox to the notifier: every sale has its receipt.
    for (const { orderId } of [sales[0]!, sales[sales.length - 1]!]) {
      await waitFor(
        async () =>
          (await world.http().get(`/api/v1/orders/${orderId}`).set(world.api.adminAuth)).body
            .receipt ?? false,
        { what: `receipt of ${orderId}` },
      );
    }
  });

  it('when a payment job runs more than once, then there is still one order, one payment and one payment.approved id', async () => {
    const world = await checkoutWorld([holdsWorker, finaliserWorker, eventRelayWorker]);
    const spy = await EventSpy.attach(world.vhost.url);
    cleanups.push(() => spy.close());
    const rabbit: RecoveringChannelModel = await connectRabbit(world.vhost.url, silentLogger);
    cleanups.push(() => rabbit.close());
    const publisher = new EventPublisher(rabbit, silentLogger);
    const deps: ChargeDependencies = {
      ctx: createHoldContext(world.api.redis, world.api.db.config.holds, world.api.queues),
      orm: world.api.db.orm,
      publish: (events) => publisher.publish(events),
    };

    const hold = await world.confirmedHold(world.users[0]!.id, world.freshSeats(2));
    const orderId = await world.pay(hold, 'credit_card');
    const job: PaymentJob = { orderId, holdId: hold.holdId, sessionId: hold.sessionId };
    // Two payment workers take the same charge at once (a stalled job handed out again): both
    // find the hold paying, both charge and both publish the approval.
    expect(await Promise.all([chargePayment(deps, job), chargePayment(deps, job)])).toEqual([
      'approved',
      'approved',
    ]);

    // Then the queued job itself runs, and the same job once more under another id.
    const payments = await startWorkers(world.api.db.config, [paymentsWorker]);
    cleanups.push(() => payments.stop());
    const finished = (jobId: string) =>
      waitFor(
        async () => {
          const job = await world.api.queues.payments.getJob(jobId);
          // Read again once completed: a job read while it ran has no return value yet.
          return (
            (await job?.getState()) === 'completed' &&
            (await world.api.queues.payments.getJob(jobId))!
          );
        },
        { what: `job ${jobId} completed` },
      );
    await finished(paymentJobId(orderId));
    await world.allPaid(1);
    await waitFor(
      async () =>
        (await world.api.redis.get(seatKey(hold.sessionId, hold.seatIds[0]!))) ===
        `sold:${orderId}`,
      { what: 'seats sold in Redis' },
    );
    await world.api.queues.payments.add('pay', job, { jobId: `${paymentJobId(orderId)}-again` });
    expect((await finished(`${paymentJobId(orderId)}-again`)).returnvalue).toBe('nothing-to-do');

    await world.expectEverySalePaidOnce([{ hold, orderId }]);
    const approvals = spy.ofType('payment.approved').filter((e) => e.data.orderId === orderId);
    expect(approvals.length).toBeGreaterThanOrEqual(2);
    expect(new Set(approvals.map((e) => e.id))).toEqual(
      new Set([eventIdFor(`payment.approved/${orderId}`)]),
    );
    expect(
      await world
        .em()
        .count(ProcessedMessage, { consumer: FINALISER, messageId: approvals[0]!.id }),
    ).toBe(1);
    await waitFor(() => spy.ofType('order.completed').length > 0, { what: 'order.completed' });
    expect(spy.ofType('order.completed').filter((e) => e.data.orderId === orderId)).toHaveLength(1);
  });
});

/** The payment reconciler at test speed: a payment is stuck after 1 s, looked for twice a second. */
const FAST_RECONCILER = {
  PAYMENT_STUCK_AFTER_SECONDS: '1',
  PAYMENT_RECONCILE_EVERY_SECONDS: '0.5',
};

const reconciled = async (action: string) =>
  (await paymentsReconciled.get()).values.find((v) => v.labels.action === action)?.value ?? 0;

describe('no accepted payment is lost', () => {
  it('when the payments worker approves payments on a fresh broker before any finaliser ever ran, then every approval waits in its queue and each ends paid once the finaliser starts', async () => {
    const world = await checkoutWorld([holdsWorker, paymentsWorker, eventRelayWorker]);
    const holds = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        world.confirmedHold(world.users[i % world.users.length]!.id, world.freshSeats(1)),
      ),
    );
    const sales = await Promise.all(
      holds.map(async (hold) => ({ hold, orderId: await world.pay(hold) })),
    );
    await waitFor(
      async () => (await world.api.queues.payments.getJobCounts('completed')).completed === 20,
      { what: 'every payment charged and its approval published' },
    );
    expect(await world.paidCount()).toBe(0);

    const finaliser = await startWorkers(world.api.db.config, [finaliserWorker]);
    cleanups.push(() => finaliser.stop());
    await world.allPaid(20);
    await world.expectEverySalePaidOnce(sales);
  });

  it('when payment jobs completed without any effect, then the reconciler charges again: approvals become sales, a decline gives the hold back', async () => {
    const world = await checkoutWorld(
      [holdsWorker, finaliserWorker, notifierWorker, eventRelayWorker],
      FAST_RECONCILER,
    );
    const [pix, card, declined] = await Promise.all(
      [1, 2, 3].map((i) => world.confirmedHold(world.users[i]!.id, world.freshSeats(i))),
    );
    const sales = [
      { hold: pix!, orderId: await world.pay(pix!) },
      { hold: card!, orderId: await world.pay(card!, 'credit_card') },
    ];
    const declinedOrder = await world.pay(declined!, 'declined_card');
    // A payment worker that lost every effect: each job completes, nothing is charged or
    // published. BullMQ now keeps these jobs as completed, so re-adding their ids does nothing.
    const bull = bullConnection(world.api.db.config);
    const lost = new Worker(QUEUES.payments, async () => 'lost', {
      connection: bull.connection,
      prefix: bull.prefix(QUEUES.payments),
    });
    await waitFor(
      async () => (await world.api.queues.payments.getJobCounts('completed')).completed === 3,
      { what: 'the three jobs completed' },
    );
    await lost.close();
    await bull.close();
    const chargedBefore = await reconciled('charged_again');

    const payments = await startWorkers(world.api.db.config, [paymentsWorker]);
    cleanups.push(() => payments.stop());
    await world.allPaid(2);
    await world.expectEverySalePaidOnce(sales);
    await waitFor(
      async () =>
        (await world.em().findOne(Order, declinedOrder, { fields: ['status'] }))?.status ===
          'declined' &&
        (await world.api.redis.hget(holdKey(declined!.sessionId, declined!.holdId), 'stage')) ===
          'confirmed',
      { what: 'the declined payment settled, its hold confirmed again' },
    );
    for (const seatId of declined!.seatIds)
      expect(await world.api.redis.get(seatKey(declined!.sessionId, seatId))).toBe(
        declined!.holdId,
      );
    expect(await world.api.redis.zcard(payingKey(world.session.id))).toBe(0);
    expect((await reconciled('charged_again')) - chargedBefore).toBeGreaterThanOrEqual(3);
  });

  it('when the finaliser committed a sale and died before settling Redis, then the reconciler settles it: seats sold, hold paid', async () => {
    const world = await checkoutWorld([holdsWorker, eventRelayWorker], FAST_RECONCILER);
    const hold = await world.confirmedHold(world.users[0]!.id, world.freshSeats(2));
    const orderId = await world.pay(hold);
    await world.api.queues.payments.remove(paymentJobId(orderId));
    // What the payment worker would have published, and what the finaliser committed for it,
    // before its process died (Redis still says paying).
    const approvals: EventEnvelope[] = [];
    await chargePayment(
      {
        ctx: createHoldContext(world.api.redis, world.api.db.config.holds, world.api.queues),
        orm: world.api.db.orm,
        publish: async (events) => void approvals.push(...events),
      },
      { orderId, holdId: hold.holdId, sessionId: hold.sessionId },
    );
    await finalisePayments(
      world.api.db.orm,
      [{ eventId: approvals[0]!.id, payment: approvals[0]!.data as unknown as PaymentApproved }],
      silentLogger,
    );
    expect(await world.api.redis.hget(holdKey(hold.sessionId, hold.holdId), 'stage')).toBe(
      'paying',
    );
    const settledBefore = await reconciled('settled');

    const payments = await startWorkers(world.api.db.config, [paymentsWorker]);
    cleanups.push(() => payments.stop());
    await waitFor(
      async () =>
        (await world.api.redis.hget(holdKey(hold.sessionId, hold.holdId), 'stage')) === 'paid',
      { what: 'the hold settled as paid' },
    );
    await world.expectEverySalePaidOnce([{ hold, orderId }]);
    expect((await reconciled('settled')) - settledBefore).toBe(1);
  });

  it("when an API process is killed -9 mid-request, after its payment script ran and before it answered, then the retry on another instance with the same Idempotency-Key gets 202 with the first attempt's order, which ends paid once", async () => {
    const world = await checkoutWorld([
      holdsWorker,
      finaliserWorker,
      notifierWorker,
      eventRelayWorker,
    ]);
    const hold = await world.confirmedHold(world.users[0]!.id, world.freshSeats(2));
    const key = randomUUID();
    const payOn = (target: Parameters<typeof request>[0], idempotencyKey: string) =>
      request(target)
        .post(`/api/v1/holds/${hold.holdId}/payment`)
        .set(asOwnerOf(hold))
        .set('Idempotency-Key', idempotencyKey)
        .send({ method: 'pix' });

    // The doomed process reaches Redis through a proxy that lets its payment script run, then
    // cuts it off: what a crash between the script and the answer leaves behind, every time.
    const startPayment = loadLua('start-payment');
    const { host, port } = world.api.db.config.redis;
    // ioredis sends a script by its SHA, or whole (EVAL) when Redis may not know it yet.
    const proxy = await redisProxyCuttingOffAfter({ host, port }, [
      createHash('sha1').update(startPayment).digest('hex'),
      startPayment.slice(0, 120),
    ]);
    cleanups.push(proxy.close);
    const apiPort = await freePort();
    const doomedUrl = `http://127.0.0.1:${apiPort}`;
    const doomed = await startEntryProcess(
      'api/main.ts',
      envOf(world.api.db.config, {
        PORT: String(apiPort),
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(proxy.port),
      }),
      `${doomedUrl}/health/ready`,
    );
    cleanups.push(doomed.kill);

    const firstAttempt = payOn(doomedUrl, key).then(
      (res) => `answered ${res.status} ${res.text}`,
      (err: Error) => err.message,
    );
    // Should the first attempt be answered, the cut never came: fail on that answer, not a timeout.
    await Promise.race([
      proxy.cutOff,
      firstAttempt.then((outcome) => {
        throw new Error(`the doomed process was not cut off: ${outcome}`);
      }),
    ]);
    doomed.child.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');
    expect(await firstAttempt).toMatch(/socket hang up|ECONNRESET/);

    // The first attempt's effect is there: the hold is paying for an order nobody was told of.
    const other = await payOn(world.baseUrl, randomUUID()).expect(409);
    expect(other.body.error).toMatchObject({ code: 'HOLD_WRONG_STAGE', stage: 'paying' });
    const firstOrderId = other.body.error.orderId as string;
    expect(firstOrderId).toEqual(expect.any(String));

    // The client retries on another instance: the dead process's lease runs out, then the
    // retry takes the key over (a 409 IDEMPOTENCY_KEY_IN_USE meanwhile is not a lasting refusal).
    const retried = await waitFor(
      async () => {
        const res = await payOn(world.baseUrl, key);
        if (res.status === 409 && res.body.error?.code === 'IDEMPOTENCY_KEY_IN_USE') return false;
        return res;
      },
      { what: 'the retry to be answered', timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual({ orderId: firstOrderId, status: 'processing' });

    const payments = await startWorkers(world.api.db.config, [paymentsWorker]);
    cleanups.push(() => payments.stop());
    await world.allPaid(1);
    await world.expectEverySalePaidOnce([{ hold, orderId: firstOrderId }]);
  });
});
