/**
 * `npm run bench`: measures the checkout on this machine against a bare baseline of the same run.
 *
 * It builds nothing itself (the npm script builds first), prepares its own database (`cine_bench`),
 * Redis db (15) and RabbitMQ vhost (`cine_bench`), starts the processes it measures as child
 * processes (compiled `dist/`), drives them with autocannon and plain fetch, prints a table and
 * writes bench/results/latest.json. Rate limits are off in its configuration: a benchmark
 * measures the checkout path, not the limiter.
 *
 *   BENCH_RUNS (3)        repetitions of the timed scenarios; the table shows medians
 *   BENCH_DURATION (10)   seconds per timed scenario
 *   BENCH_CHECKOUTS (2000) full checkouts per worker setting
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { Redis } from 'ioredis';
import { hashPassword } from '../shared/auth/passwords';
import { liveMapScenario } from './live-map';
import { loadConfig } from '../shared/config';
import { dropDatabase } from '../shared/db/database-admin';
import { initOrm, type Orm } from '../shared/db/orm';
import { prepareDatabase } from '../shared/db/prepare';
import { createLogger } from '../shared/logger';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CHECKOUTS = Number(process.env.BENCH_CHECKOUTS ?? 2000);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 2000);
const ROOT = path.join(__dirname, '..');
// Production mode refuses shipped or weak secrets: each run makes its own.
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const JWT_SECRET = randomBytes(32).toString('base64url');
const RABBIT_USER = 'cine_bench';
const RABBIT_PASSWORD = randomBytes(18).toString('base64url');
/** Every bench buyer signs in with this password (hashed once, see prepareData). */
const BUYER_PASSWORD = randomBytes(12).toString('base64url');
const VHOST = 'cine_bench';
const PORTS = { baseline: 3100, api: 3101, api2: 3102 };

const benchEnv: Record<string, string> = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  DB_NAME: 'cine_bench',
  REDIS_DB: '15',
  RABBITMQ_URL: `amqp://${RABBIT_USER}:${RABBIT_PASSWORD}@127.0.0.1:5672/${VHOST}`,
  ADMIN_TOKEN,
  JWT_SECRET,
  RATE_LIMIT_PER_USER: '0',
  RATE_LIMIT_PER_IP: '0',
  MAX_SEATS_PER_HOLD: '50',
  ACCESS_TOKEN_TTL_SECONDS: '7200',
};
const config = loadConfig({ ...process.env, ...benchEnv });
const logger = createLogger({ level: 'warn', service: 'bench' });

// ---------------------------------------------------------------- processes

const children = new Set<ChildProcess>();

function startProcess(script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [path.join(ROOT, script)], {
    env: { ...process.env, ...benchEnv, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stopProcesses(list: ChildProcess[]): Promise<void> {
  await Promise.all(
    list.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

async function waitUntilReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready`);
}

async function startApi(port: number): Promise<ChildProcess> {
  const child = startProcess('dist/api/main.js', { PORT: String(port) });
  await waitUntilReady(`http://127.0.0.1:${port}/health/ready`);
  return child;
}

const WORKER_KINDS = ['holds', 'payments', 'finaliser', 'notifier', 'event-relay'];
let nextMetricsPort = 9400;
function startWorkers(copies: number) {
  const processes: ChildProcess[] = [];
  const metricsPorts: number[] = [];
  const roles = new Map<ChildProcess, string>();
  for (let copy = 0; copy < copies; copy++) {
    for (const kind of WORKER_KINDS) {
      const port = nextMetricsPort++;
      metricsPorts.push(port);
      const child = startProcess(`dist/workers/${kind}/main.js`, { METRICS_PORT: String(port) });
      processes.push(child);
      roles.set(child, kind);
    }
  }
  return { processes, metricsPorts, roles };
}

// ---------------------------------------------------------------- data

interface BenchData {
  users: string[];
  /** `Authorization` header of each user, once signed in (signInEveryone). */
  bearer: Map<string, string>;
  /** Seats of the bench hall's sessions, session by session. */
  seats: { sessionId: string; seatIds: string[] }[];
  seatMapSession: { id: string; seatIds: string[] };
}

const HALL_SESSIONS = 160; // × 2500 seats: enough distinct seats for every timed hold (~5k holds/s × 30 s + checkouts)

async function prepareData(orm: Orm): Promise<BenchData> {
  const connection = orm.em.getConnection();
  // One hash for all: hashing is deliberately slow, and they share the password anyway.
  await connection.execute(
    `insert into users (id, name, email, password_hash, created_at)
     select gen_random_uuid(), 'Bench user ' || i, 'bench' || i || '@example.com', ?, now()
     from generate_series(1, 1000) i`,
    [await hashPassword(BUYER_PASSWORD)],
  );
  await connection.execute(
    `insert into movies (id, title, duration_minutes, created_at) values (gen_random_uuid(), 'Bench film', 120, now());
     insert into rooms (id, name, rows, seats_per_row, created_at) values (gen_random_uuid(), 'Bench hall', 50, 50, now());
     insert into sessions (id, movie_id, room_id, starts_at, price_cents, currency, created_at)
     select gen_random_uuid(), (select id from movies where title = 'Bench film'),
            (select id from rooms where name = 'Bench hall'), now() + interval '2 days' + (i || ' minutes')::interval,
            2500, 'BRL', now()
     from generate_series(1, ${HALL_SESSIONS}) i;
     insert into session_seats (id, session_id, "row", number, label)
     select gen_random_uuid(), s.id, chr(64 + r), n, chr(64 + r) || n
     from sessions s join rooms rm on rm.id = s.room_id and rm.name = 'Bench hall',
          generate_series(1, 25) r, generate_series(1, 100) n`,
  );
  const users = (
    await connection.execute<{ id: string }[]>(`select id from users where email like 'bench%'`)
  ).map((u) => u.id);
  const seatRows = await connection.execute<{ session_id: string; id: string }[]>(
    `select ss.session_id, ss.id from session_seats ss join sessions s on s.id = ss.session_id
     join rooms r on r.id = s.room_id where r.name = 'Bench hall' order by s.starts_at, ss."row", ss.number`,
  );
  const bySession = new Map<string, string[]>();
  for (const row of seatRows)
    bySession.set(row.session_id, [...(bySession.get(row.session_id) ?? []), row.id]);
  const [seatMap] = await connection.execute<{ id: string }[]>(
    `select s.id from sessions s join rooms r on r.id = s.room_id where r.rows * r.seats_per_row = 200 limit 1`,
  );
  const seatMapSeats = (
    await connection.execute<{ id: string }[]>(
      'select id from session_seats where session_id = ?',
      [seatMap!.id],
    )
  ).map((s) => s.id);
  return {
    users,
    bearer: new Map(),
    seats: [...bySession].map(([sessionId, seatIds]) => ({ sessionId, seatIds })),
    seatMapSession: { id: seatMap!.id, seatIds: seatMapSeats },
  };
}

/**
 * Every bench buyer signs in through the public API (POST /api/v1/auth/token), a few at a time:
 * the scenarios then send each buyer's own access token, as real buyers do.
 */
async function signInEveryone(data: BenchData): Promise<void> {
  const started = performance.now();
  let next = 0;
  const signer = async () => {
    while (next < data.users.length) {
      const i = next++;
      const res = await fetch(`http://127.0.0.1:${PORTS.api}/api/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `bench${i + 1}@example.com`, password: BUYER_PASSWORD }),
      });
      if (res.status !== 200) throw new Error(`bench${i + 1} could not sign in: ${res.status}`);
      const { accessToken } = (await res.json()) as { accessToken: string };
      const me = (await (
        await fetch(`http://127.0.0.1:${PORTS.api}/api/v1/me`, {
          headers: { authorization: `Bearer ${accessToken}` },
        })
      ).json()) as { id: string };
      data.bearer.set(me.id, `Bearer ${accessToken}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, signer));
  console.log(
    `${data.bearer.size} buyers signed in (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
}

/** Hands out seats no earlier request used, across scenarios and runs. */
class SeatDealer {
  private session = 0;
  private seat = 0;
  constructor(private readonly data: BenchData) {}
  next(): string {
    let current = this.data.seats[this.session]!;
    if (this.seat >= current.seatIds.length) {
      this.session++;
      this.seat = 0;
      current = this.data.seats[this.session]!;
      if (!current) throw new Error('out of bench seats');
    }
    return current.seatIds[this.seat++]!;
  }
  /** The next whole session, for scenarios that need seats nobody touched. */
  freshSession(): { sessionId: string; seatIds: string[] } {
    if (this.seat > 0) this.session++;
    this.seat = 0;
    const session = this.data.seats[this.session++]!;
    return session;
  }
}

// ---------------------------------------------------------------- measuring

interface Figures {
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const figures = (r: Result): Figures => ({
  requestsPerSecond: r.requests.average,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  non2xx: r.non2xx,
  errors: r.errors,
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const medianFigures = (runs: Figures[]): Figures => ({
  requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
  p50: median(runs.map((r) => r.p50)),
  p90: median(runs.map((r) => r.p90)),
  p99: median(runs.map((r) => r.p99)),
  non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  errors: runs.reduce((a, r) => a + r.errors, 0),
});

/** POSTs JSON bodies from `next`, each as the buyer it names (their own bearer token), if any. */
function postJson(
  url: string,
  next: () => { body: unknown; authorization?: string },
  extra: Partial<autocannon.Options> = {},
) {
  return autocannon({
    url,
    connections: 50,
    ...(extra.amount ? {} : { duration: DURATION }),
    ...extra,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => {
          const { body, authorization } = next();
          return {
            ...request,
            headers: { ...request.headers, ...(authorization ? { authorization } : {}) },
            body: JSON.stringify(body),
          };
        },
      },
    ],
  });
}

/** A buyer's request: the body, sent with that buyer's access token. */
const asBuyer = (data: BenchData, userId: string, body: unknown) => ({
  body,
  authorization: data.bearer.get(userId)!,
});

async function baseline(data: BenchData): Promise<Figures> {
  let i = 0;
  return figures(
    await postJson(`http://127.0.0.1:${PORTS.baseline}/hold`, () => ({
      body: { userId: data.users[i++ % data.users.length] },
    })),
  );
}

async function holds(data: BenchData, dealer: SeatDealer): Promise<Figures> {
  let i = 0;
  return figures(
    await postJson(`http://127.0.0.1:${PORTS.api}/api/v1/holds`, () =>
      asBuyer(data, data.users[i++ % data.users.length]!, { seatIds: [dealer.next()] }),
    ),
  );
}

/**
 * Best-available holds (`{sessionId, quantity: 1}`): the script picks the seat. Spread over
 * fresh sessions so none runs out of seats during the run, like the holds by seatIds above.
 */
async function bestAvailable(data: BenchData, dealer: SeatDealer): Promise<Figures> {
  const sessions = Array.from({ length: 8 }, () => dealer.freshSession().sessionId);
  let i = 0;
  return figures(
    await postJson(`http://127.0.0.1:${PORTS.api}/api/v1/holds`, () =>
      asBuyer(data, data.users[i % data.users.length]!, {
        sessionId: sessions[i++ % sessions.length],
        quantity: 1,
      }),
    ),
  );
}

/** Holds and releases seats of the seat-map session while it is being read. */
function churn(data: BenchData, api: string) {
  let running = true;
  let operations = 0;
  const loop = async () => {
    while (running) {
      const seat =
        data.seatMapSession.seatIds[Math.floor(Math.random() * data.seatMapSession.seatIds.length)];
      const user = data.users[Math.floor(Math.random() * data.users.length)];
      const authorization = data.bearer.get(user!)!;
      const res = await fetch(`${api}/api/v1/holds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ seatIds: [seat] }),
      });
      const body = (await res.json()) as { holdId?: string; holdToken?: string };
      if (res.status === 201) {
        await fetch(`${api}/api/v1/holds/${body.holdId}`, {
          method: 'DELETE',
          headers: { authorization, 'x-hold-token': body.holdToken! },
        });
      }
      operations++;
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return operations;
    },
  };
}

async function seatMap(data: BenchData): Promise<Figures & { churnOperations: number }> {
  const api = `http://127.0.0.1:${PORTS.api}`;
  const churning = churn(data, api);
  const result = await autocannon({
    url: `${api}/api/v1/sessions/${data.seatMapSession.id}`,
    connections: 50,
    duration: DURATION,
  });
  return { ...figures(result), churnOperations: await churning.stop() };
}

/**
 * 10 000 single-seat hold requests from 1 000 users on 100 seats, split over two API instances on
 * two ports against one Redis: exactly 100 may win, whatever instance they reached.
 */
async function race(data: BenchData, dealer: SeatDealer, redis: Redis) {
  const { sessionId, seatIds } = dealer.freshSession();
  const seats = seatIds.slice(0, 100);
  let i = 0;
  const body = () => asBuyer(data, data.users[i % 1000]!, { seatIds: [seats[i++ % 100]] });
  const started = performance.now();
  const results = await Promise.all(
    [PORTS.api, PORTS.api2].map((port) =>
      postJson(`http://127.0.0.1:${port}/api/v1/holds`, body, { amount: 5000, connections: 100 }),
    ),
  );
  const settleSeconds = (performance.now() - started) / 1000;
  const created = results.reduce((sum, r) => sum + (r.statusCodeStats?.['201']?.count ?? 0), 0);
  const conflicts = results.reduce((sum, r) => sum + (r.statusCodeStats?.['409']?.count ?? 0), 0);
  const heldInRedis = (await redis.mget(seats.map((s) => `seat:{${sessionId}}:${s}`))).filter(
    Boolean,
  ).length;
  const holdRecords = (await redis.keys(`hold:{${sessionId}}:*`)).length;
  return {
    requests: 10_000,
    created,
    conflicts,
    heldInRedis,
    holdRecords,
    exact:
      created === 100 &&
      heldInRedis === 100 &&
      holdRecords === 100 &&
      created + conflicts === 10_000,
    settleSeconds,
    requestsPerSecond: 10_000 / settleSeconds,
    p99: Math.max(...results.map((r) => r.latency.p99)),
  };
}

async function checkout(
  data: BenchData,
  dealer: SeatDealer,
  orm: Orm,
  copies: number,
  apiProcess: ChildProcess,
) {
  const api = `http://127.0.0.1:${PORTS.api}`;
  const workers = startWorkers(copies);
  await Promise.all(
    workers.metricsPorts.map((port) => waitUntilReady(`http://127.0.0.1:${port}/health/live`)),
  );
  const roles = new Map([...workers.roles, [apiProcess, 'api']]);
  const cpuBefore = cpuSnapshot(roles);
  const orderIds: string[] = [];
  let failures = 0;
  let next = 0;
  const buyer = async () => {
    while (next < CHECKOUTS) {
      const i = next++;
      const authorization = data.bearer.get(data.users[i % 1000]!)!;
      const post = (url: string, body: unknown, token?: string) =>
        fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization,
            ...(token ? { 'x-hold-token': token } : {}),
          },
          body: JSON.stringify(body),
        });
      const hold = await post(`${api}/api/v1/holds`, { seatIds: [dealer.next()] });
      const { holdId, holdToken } = (await hold.json()) as { holdId: string; holdToken: string };
      if (hold.status !== 201) {
        failures++;
        continue;
      }
      await post(`${api}/api/v1/holds/${holdId}/confirm`, {}, holdToken);
      const paid = await post(
        `${api}/api/v1/holds/${holdId}/payment`,
        { method: 'pix' },
        holdToken,
      );
      if (paid.status === 202) orderIds.push(((await paid.json()) as { orderId: string }).orderId);
      else failures++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: 100 }, buyer));
  const accepted = Date.now();
  const connection = orm.em.getConnection();
  const deadline = Date.now() + 180_000;
  let paid = 0;
  while (Date.now() < deadline) {
    const [row] = await connection.execute<{ count: number }[]>(
      `select count(*)::int as count from orders where status = 'paid' and id in (?)`,
      [orderIds],
    );
    paid = row!.count;
    if (paid >= orderIds.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const [stats] = await connection.execute<{ p50: number; p99: number; first: Date; last: Date }[]>(
    `select percentile_cont(0.5) within group (order by extract(epoch from paid_at - created_at)) as p50,
            percentile_cont(0.99) within group (order by extract(epoch from paid_at - created_at)) as p99,
            min(created_at) as first, max(paid_at) as last
     from orders where status = 'paid' and id in (?)`,
    [orderIds],
  );
  const [tickets] = await connection.execute<{ count: number; seats: number }[]>(
    `select count(*)::int as count, count(distinct seat_id)::int as seats from tickets t
     where t.status = 'active' and t.order_id in (?)`,
    [orderIds],
  );
  const cpuSeconds = cpuDelta(cpuBefore, cpuSnapshot(roles));
  const workerMetrics = await scrapeWorkers(workers.metricsPorts);
  await stopProcesses(workers.processes);
  const spanSeconds = (new Date(stats!.last).getTime() - new Date(stats!.first).getTime()) / 1000;
  return {
    workerCopies: copies,
    checkouts: CHECKOUTS,
    accepted: orderIds.length,
    failures,
    paid,
    activeTickets: tickets!.count,
    distinctSeats: tickets!.seats,
    acceptSeconds: (accepted - started) / 1000,
    paidOrdersPerSecond: paid / spanSeconds,
    paymentToPaidP50Ms: Number(stats!.p50) * 1000,
    paymentToPaidP99Ms: Number(stats!.p99) * 1000,
    where: { ...workerMetrics, cpuSeconds },
  };
}

// ---------------------------------------------------------------- where time goes

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function processCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

const serverPids = (name: string) => {
  try {
    return execFileSync('pgrep', ['-f', name], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
};

/** CPU seconds per component: our processes by role, and the three servers. */
function cpuSnapshot(roles: Map<ChildProcess, string>): Record<string, number> {
  const totals: Record<string, number> = {};
  const add = (role: string, seconds: number) => (totals[role] = (totals[role] ?? 0) + seconds);
  for (const [child, role] of roles) if (child.pid) add(role, processCpuSeconds(child.pid));
  for (const pid of serverPids('postgres')) add('postgres', processCpuSeconds(pid));
  for (const pid of serverPids('redis-server')) add('redis', processCpuSeconds(pid));
  for (const pid of serverPids('beam.smp')) add('rabbitmq', processCpuSeconds(pid));
  add('bench driver', process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6);
  return totals;
}

const cpuDelta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(
        ([role, seconds]) =>
          [role, Math.round((seconds - (before[role] ?? 0)) * 100) / 100] as const,
      )
      .sort((a, b) => b[1] - a[1]),
  );

/** Mean of a Prometheus histogram (sum / count) per label set, from text exposition. */
function histogramMeans(text: string, name: string): Record<string, number> {
  const sums: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = line.match(new RegExp(`^${name}_(sum|count)(\\{[^}]*\\})? ([0-9.e+-]+)$`));
    if (!match) continue;
    const labels = match[2] ?? '{}';
    (match[1] === 'sum' ? sums : counts)[labels] =
      (match[1] === 'sum' ? sums : counts)[labels] ?? 0;
    (match[1] === 'sum' ? sums : counts)[labels]! += Number(match[3]);
  }
  return Object.fromEntries(
    Object.entries(sums)
      .filter(([labels]) => (counts[labels] ?? 0) > 0)
      .map(([labels, sum]) => [labels, Math.round((sum / counts[labels]!) * 100_000) / 100]),
  );
}

async function scrapeWorkers(ports: number[]) {
  const texts = await Promise.all(
    ports.map((port) =>
      fetch(`http://127.0.0.1:${port}/metrics`).then(
        (r) => r.text(),
        () => '',
      ),
    ),
  );
  const all = texts.join('\n');
  return {
    jobMeanMs: histogramMeans(all, 'bullmq_job_duration_seconds'),
    jobLatenessMeanMs: histogramMeans(all, 'bullmq_job_lateness_seconds'),
    paymentToPaidMeanMs: histogramMeans(all, 'payment_to_paid_seconds'),
  };
}

async function scrapeApi() {
  const text = await fetch(`http://127.0.0.1:${PORTS.api}/metrics`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  }).then((r) => r.text());
  return { httpMeanMs: histogramMeans(text, 'http_request_duration_seconds') };
}

// ---------------------------------------------------------------- main

function rabbitmqctl(...args: string[]) {
  try {
    execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'ignore' });
  } catch {
    // delete_vhost of a vhost that is not there
  }
}

async function main() {
  console.log(
    `cine-starsoft bench: ${RUNS} runs × ${DURATION} s, ${CHECKOUTS} checkouts per worker setting`,
  );
  await dropDatabase(config);
  await prepareDatabase(config, logger);
  rabbitmqctl('delete_vhost', VHOST);
  rabbitmqctl('add_vhost', VHOST);
  rabbitmqctl('delete_user', RABBIT_USER);
  rabbitmqctl('add_user', RABBIT_USER, RABBIT_PASSWORD);
  rabbitmqctl('set_permissions', '-p', VHOST, RABBIT_USER, '.*', '.*', '.*');
  const redis = new Redis({
    host: config.redis.host,
    port: config.redis.port,
    db: config.redis.db,
  });
  await redis.flushdb();
  const orm = await initOrm(config);
  const data = await prepareData(orm);
  const dealer = new SeatDealer(data);

  const baselineServer = startProcess('bench/baseline-server.mjs', {
    PORT: String(PORTS.baseline),
  });
  await waitUntilReady(`http://127.0.0.1:${PORTS.baseline}/health/ready`);
  let apis = [await startApi(PORTS.api), await startApi(PORTS.api2)];
  await signInEveryone(data);

  const runs = {
    baseline: [] as Figures[],
    hold: [] as Figures[],
    best: [] as Figures[],
    seatmap: [] as (Figures & { churnOperations: number })[],
  };
  const races = [];
  for (let run = 1; run <= RUNS; run++) {
    console.log(`run ${run}/${RUNS}: baseline, hold, best available, seatmap, race`);
    runs.baseline.push(await baseline(data));
    runs.hold.push(await holds(data, dealer));
    runs.best.push(await bestAvailable(data, dealer));
    runs.seatmap.push(await seatMap(data));
    races.push(await race(data, dealer, redis));
  }
  console.log(`live map: ${SUBSCRIBERS} subscribers on one session while holds run`);
  const liveMap = await liveMapScenario({
    apiUrl: `http://127.0.0.1:${PORTS.api}`,
    subscribers: SUBSCRIBERS,
    holds: 1000,
    quiet: dealer.freshSession(),
    watched: dealer.freshSession(),
    authorizations: [...data.bearer.values()],
  });
  const apiMetrics = await scrapeApi();
  await stopProcesses([baselineServer]);

  // Checkouts start from an empty Redis (no leftover holds or delayed jobs from the timed runs).
  await stopProcesses(apis);
  await redis.flushdb();
  apis = [await startApi(PORTS.api)];
  console.log('checkout: 1 copy of each worker');
  const checkout1 = await checkout(data, dealer, orm, 1, apis[0]!);
  console.log('checkout: 3 copies of each worker');
  const checkout3 = await checkout(data, dealer, orm, 3, apis[0]!);
  await stopProcesses(apis);

  const base = medianFigures(runs.baseline);
  const hold = medianFigures(runs.hold);
  const best = medianFigures(runs.best);
  const seatmap = medianFigures(runs.seatmap);
  const ratio = (f: Figures) =>
    Math.round((f.requestsPerSecond / base.requestsPerSecond) * 100) / 100;
  const report = {
    ranAt: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      note: 'load generator (autocannon) on the same machine',
    },
    settings: {
      runs: RUNS,
      durationSeconds: DURATION,
      connections: 50,
      checkouts: CHECKOUTS,
      rateLimits: 'off',
    },
    scenarios: {
      baseline: { median: base, runs: runs.baseline },
      hold: {
        median: hold,
        runs: runs.hold,
        ratioToBaseline: ratio(hold),
        p99RatioToBaseline: hold.p99 / base.p99,
      },
      bestAvailable: {
        median: best,
        runs: runs.best,
        ratioToBaseline: ratio(best),
        ratioToHoldBySeatIds:
          Math.round((best.requestsPerSecond / hold.requestsPerSecond) * 100) / 100,
      },
      seatmap: { median: seatmap, runs: runs.seatmap, ratioToBaseline: ratio(seatmap) },
      race: { runs: races, allExact: races.every((r) => r.exact) },
      checkout: { oneCopy: checkout1, threeCopies: checkout3 },
      liveMap,
    },
    where: { api: apiMetrics },
    targets: {
      holdThroughput: { target: '≥ 0.6 × baseline', value: ratio(hold), met: ratio(hold) >= 0.6 },
      holdP99: {
        target: '≤ 1.5 × baseline p99',
        value: hold.p99 / base.p99,
        met: hold.p99 <= 1.5 * base.p99,
      },
      seatmap: { target: '≥ 0.5 × baseline', value: ratio(seatmap), met: ratio(seatmap) >= 0.5 },
      race: { target: 'exact', met: races.every((r) => r.exact) },
      bestAvailable: {
        target: '≥ 0.7 × holds by seatIds',
        value: best.requestsPerSecond / hold.requestsPerSecond,
        met: best.requestsPerSecond >= 0.7 * hold.requestsPerSecond,
      },
      liveMapP99: {
        target: `p99 change-to-delivery ≤ 250 ms (${SUBSCRIBERS} subscribers)`,
        value: liveMap.latencyMs.p99,
        met: liveMap.latencyMs.p99 <= 250 && liveMap.delivered === liveMap.expectedDeliveries,
      },
      checkoutThroughput: {
        target: '≥ 500 paid/s (3 copies)',
        value: checkout3.paidOrdersPerSecond,
        met: checkout3.paidOrdersPerSecond >= 500,
      },
      checkoutP99: {
        target: 'p99 payment→paid ≤ 2 s',
        value: checkout3.paymentToPaidP99Ms,
        met: checkout3.paymentToPaidP99Ms <= 2000,
      },
    },
  };

  const row = (name: string, f: Figures, r: string) =>
    `| ${name.padEnd(9)} | ${f.requestsPerSecond.toFixed(0).padStart(7)} | ${String(f.p50).padStart(4)} | ${String(f.p90).padStart(4)} | ${String(f.p99).padStart(4)} | ${r.padStart(6)} |`;
  console.log('\n| scenario  |   req/s |  p50 |  p90 |  p99 | × base |');
  console.log('|-----------|---------|------|------|------|--------|');
  console.log(row('baseline', base, '1.00'));
  console.log(row('hold', hold, ratio(hold).toFixed(2)));
  console.log(row('best', best, ratio(best).toFixed(2)));
  console.log(row('seatmap', seatmap, ratio(seatmap).toFixed(2)));
  console.log(
    `live map: ${liveMap.subscribers} subscribers, ${liveMap.delivered}/${liveMap.expectedDeliveries} changes delivered, ` +
      `change→delivery p50 ${liveMap.latencyMs.p50} ms p99 ${liveMap.latencyMs.p99} ms; holds ${liveMap.holdsPerSecondWithListeners}/s ` +
      `with them vs ${liveMap.holdsPerSecondWithoutListeners}/s without (${liveMap.ratioWithToWithout}×), ${liveMap.droppedSubscribers} dropped ` +
      `(latency timed on ${liveMap.timedSubscribers} of them)`,
  );
  for (const [i, r] of races.entries()) {
    console.log(
      `race ${i + 1}: ${r.created} holds / ${r.conflicts} conflicts of ${r.requests} on 2 API instances, ${r.heldInRedis} seats held in Redis, settled in ${r.settleSeconds.toFixed(2)} s → ${r.exact ? 'exact' : 'NOT EXACT'}`,
    );
  }
  for (const c of [checkout1, checkout3]) {
    console.log(
      `checkout ×${c.workerCopies}: ${c.paid}/${c.accepted} paid, ${c.paidOrdersPerSecond.toFixed(0)} paid/s, payment→paid p50 ${c.paymentToPaidP50Ms.toFixed(0)} ms p99 ${c.paymentToPaidP99Ms.toFixed(0)} ms, ${c.activeTickets} tickets on ${c.distinctSeats} seats`,
    );
    console.log(`  CPU seconds: ${JSON.stringify(c.where.cpuSeconds)}`);
  }
  console.log('\ntargets:', JSON.stringify(report.targets, null, 1));
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench/results/latest.json'), JSON.stringify(report, null, 2));
  console.log('\nwrote bench/results/latest.json');

  await redis.flushdb();
  await redis.quit();
  await orm.close(true);
}

const cleanUp = async () => {
  await stopProcesses([...children]);
  rabbitmqctl('delete_user', RABBIT_USER);
};
main()
  .then(cleanUp, async (err) => {
    console.error(err);
    await cleanUp();
    process.exitCode = 1;
  })
  .finally(() => process.exit());
