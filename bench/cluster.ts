/**
 * `npm run bench:cluster`: the hold path on the local Redis Cluster (three masters,
 * scripts/redis-cluster.sh start) against the single Redis, on this machine, in the same run.
 * For each target it starts two API processes (compiled `dist/`), then measures hold throughput
 * (autocannon, one seat per hold, sessions spread over the masters) and the race (10 000
 * single-seat holds from 1 000 buyers on 100 seats, over both instances: exactly 100 may win),
 * and shows how the sessions and the commands spread over the masters. Prints a table and writes
 * bench/results/cluster-latest.json. Its database is `cine_bench_cluster`; on the single Redis it
 * uses db 15 (the benchmark's), on the cluster everything (flushed first).
 *
 *   BENCH_RUNS (3)        repetitions; the table shows medians
 *   BENCH_DURATION (10)   seconds of the throughput scenario
 *   BENCH_REDIS_CLUSTER_NODES (127.0.0.1:7101,…,7106)
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type autocannon from 'autocannon';
import { accessTokens } from '../shared/auth/access-tokens';
import { loadConfig, type Config } from '../shared/config';
import { dropDatabase } from '../shared/db/database-admin';
import { initOrm } from '../shared/db/orm';
import { prepareDatabase } from '../shared/setup/prepare-database';
import { eventsKey, holdKey, seatKey } from '../shared/holds/keys';
import { createLogger } from '../shared/logger';
import { createRedis, mastersOf, type RedisClient } from '../shared/redis';
import { median, postJson } from './support/measure';
import { ROOT } from './support/environment';
import { startProcess, stopProcesses, waitUntilReady } from './support/processes';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CLUSTER_NODES =
  process.env.BENCH_REDIS_CLUSTER_NODES ??
  [7101, 7102, 7103, 7104, 7105, 7106].map((port) => `127.0.0.1:${port}`).join(',');
const PORTS = [3111, 3112];
const BUYERS = 1000;
/** 2 500 seats each: enough fresh seats for every timed hold of one target (~5k/s × runs × s). */
const SESSIONS = 64;

const baseEnv: Record<string, string> = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  DB_NAME: 'cine_bench_cluster',
  REDIS_DB: '15',
  // Production refuses shipped secrets: each run makes its own. The API never opens RabbitMQ.
  RABBITMQ_URL: `amqp://bench:${randomBytes(18).toString('base64url')}@127.0.0.1:5672/none`,
  ADMIN_TOKEN: randomBytes(24).toString('base64url'),
  JWT_SECRET: randomBytes(32).toString('base64url'),
  RATE_LIMIT_PER_USER: '0',
  RATE_LIMIT_PER_IP: '0',
  ACCESS_TOKEN_TTL_SECONDS: '7200',
};
const TARGETS = {
  single: baseEnv,
  cluster: { ...baseEnv, REDIS_CLUSTER_NODES: CLUSTER_NODES },
};
type Target = keyof typeof TARGETS;
const logger = createLogger({ level: 'warn', service: 'bench' });

interface Data {
  authorization: string[];
  sessions: { id: string; seatIds: string[] }[];
}

async function prepareData(config: Config): Promise<Data> {
  await dropDatabase(config);
  await prepareDatabase(config, logger, { seed: false });
  const orm = await initOrm(config);
  const connection = orm.em.getConnection();
  const users = (
    await connection.execute<{ id: string }[]>(
      `insert into users (id, name, email, created_at)
       select gen_random_uuid(), 'Cluster bench buyer', 'cluster-bench' || i || '@example.com', now()
       from generate_series(1, ${BUYERS}) i returning id`,
    )
  ).map((u) => u.id);
  await connection.execute(
    `insert into movies (id, title, duration_minutes, created_at) values (gen_random_uuid(), 'Bench film', 120, now());
     insert into rooms (id, name, rows, seats_per_row, created_at) values (gen_random_uuid(), 'Bench hall', 25, 100, now());
     insert into sessions (id, movie_id, room_id, starts_at, price_cents, currency, created_at)
     select gen_random_uuid(), (select id from movies), (select id from rooms),
            now() + interval '2 days' + (i || ' minutes')::interval, 2500, 'BRL', now()
     from generate_series(1, ${SESSIONS}) i;
     insert into session_seats (id, session_id, "row", number, label)
     select gen_random_uuid(), s.id, chr(64 + r), n, chr(64 + r) || n
     from sessions s, generate_series(1, 25) r, generate_series(1, 100) n`,
  );
  const rows = await connection.execute<{ session_id: string; id: string }[]>(
    `select session_id, id from session_seats order by session_id, "row", number`,
  );
  await orm.close();
  const bySession = new Map<string, string[]>();
  for (const row of rows)
    bySession.set(row.session_id, [...(bySession.get(row.session_id) ?? []), row.id]);
  const tokens = accessTokens(config.auth);
  return {
    authorization: await Promise.all(
      users.map(async (sub) => `Bearer ${(await tokens.issue({ sub, fam: randomUUID() })).token}`),
    ),
    sessions: [...bySession].map(([id, seatIds]) => ({ id, seatIds })),
  };
}

/** One API process on `port` against `target`'s Redis, ready to serve. */
async function startApi(target: Target, port: number): Promise<ChildProcess> {
  const child = startProcess('dist/api/main.js', { ...TARGETS[target], PORT: String(port) });
  await waitUntilReady(`http://127.0.0.1:${port}/health/ready`);
  return child;
}

/** POSTs hold bodies from `next` as the buyer `next` names. */
const holdRequests = (
  port: number,
  next: () => { seatIds: string[]; authorization: string },
  options: Partial<autocannon.Options>,
) =>
  postJson(
    `http://127.0.0.1:${port}/api/v1/holds`,
    () => {
      const { seatIds, authorization } = next();
      return { body: { seatIds }, authorization };
    },
    options,
  );

/** Commands each master has processed so far (INFO stats), by address. */
async function commandsPerMaster(redis: RedisClient): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const master of await mastersOf(redis)) {
    const stats = await master.info('stats');
    const address = `${master.options.host}:${master.options.port}`;
    counts.set(address, Number(/total_commands_processed:(\d+)/.exec(stats)![1]));
  }
  return counts;
}

/** How many of the sessions' slots each master serves. */
async function sessionsPerMaster(redis: RedisClient, sessionIds: string[]) {
  const masters = await mastersOf(redis);
  const spread: Record<string, number> = {};
  for (const master of masters) spread[`${master.options.host}:${master.options.port}`] = 0;
  if (masters.length === 1) return { [Object.keys(spread)[0]!]: sessionIds.length };
  const ranges = await masters[0]!.cluster('SLOTS');
  for (const id of sessionIds) {
    const slot = (await masters[0]!.cluster('KEYSLOT', eventsKey(id))) as number;
    const owner = ranges.find(([from, to]) => from <= slot && slot <= to)?.[2];
    if (owner) spread[`${owner[0]}:${owner[1]}`]!++;
  }
  return spread;
}

async function measure(target: Target, data: Data) {
  const config = loadConfig(TARGETS[target]);
  const redis = createRedis(config, { maxRetriesPerRequest: 1 });
  await Promise.all((await mastersOf(redis)).map((master) => master.flushdb()));
  const apis = await Promise.all(PORTS.map((port) => startApi(target, port)));
  // Seats are handed out in order, session after session, so every hold takes a fresh seat and
  // consecutive holds land on different sessions (and, on the cluster, masters).
  let seat = 0;
  const timedSessions = data.sessions.slice(0, SESSIONS - RUNS);
  const nextSeat = () => {
    const session = timedSessions[seat % timedSessions.length]!;
    return session.seatIds[Math.floor(seat++ / timedSessions.length)]!;
  };
  const throughput = [];
  const races = [];
  const before = await commandsPerMaster(redis);
  for (let run = 0; run < RUNS; run++) {
    let i = 0;
    const result = await holdRequests(
      PORTS[0]!,
      () => ({ seatIds: [nextSeat()], authorization: data.authorization[i++ % BUYERS]! }),
      { duration: DURATION },
    );
    throughput.push({
      rps: result.requests.average,
      p99: result.latency.p99,
      non2xx: result.non2xx,
    });
    races.push(await race(redis, data, data.sessions[SESSIONS - RUNS + run]!));
  }
  const after = await commandsPerMaster(redis);
  const commands = Object.fromEntries(
    [...after].map(([address, count]) => [address, count - (before.get(address) ?? 0)]),
  );
  const spread = await sessionsPerMaster(
    redis,
    timedSessions.map((s) => s.id),
  );
  await stopProcesses(apis);
  await Promise.all((await mastersOf(redis)).map((master) => master.flushdb()));
  await redis.quit();
  return {
    holdsPerSecond: median(throughput.map((t) => t.rps)),
    holdP99Ms: median(throughput.map((t) => t.p99)),
    holdNon2xx: throughput.reduce((sum, t) => sum + t.non2xx, 0),
    raceRequestsPerSecond: median(races.map((r) => r.requestsPerSecond)),
    raceP99Ms: median(races.map((r) => r.p99)),
    raceExact: races.every((r) => r.exact),
    races,
    sessionsPerMaster: spread,
    commandsPerMaster: commands,
  };
}

async function race(redis: RedisClient, data: Data, session: { id: string; seatIds: string[] }) {
  const seats = session.seatIds.slice(0, 100);
  let i = 0;
  const next = () => ({
    seatIds: [seats[i % 100]!],
    authorization: data.authorization[i++ % BUYERS]!,
  });
  const started = performance.now();
  const results = await Promise.all(
    PORTS.map((port) => holdRequests(port, next, { amount: 5000, connections: 100 })),
  );
  const seconds = (performance.now() - started) / 1000;
  const count = (status: string) =>
    results.reduce((sum, r) => sum + (r.statusCodeStats?.[status as '201']?.count ?? 0), 0);
  const created = count('201');
  const conflicts = count('409');
  const held = (await redis.mget(seats.map((s) => seatKey(session.id, s)))).filter(Boolean).length;
  let records = 0;
  for (const master of await mastersOf(redis)) {
    const stream = master.scanStream({ match: holdKey(session.id, '*'), count: 1000 });
    for await (const keys of stream) records += (keys as string[]).length;
  }
  return {
    created,
    conflicts,
    held,
    records,
    exact: created === 100 && held === 100 && records === 100 && created + conflicts === 10_000,
    requestsPerSecond: 10_000 / seconds,
    p99: Math.max(...results.map((r) => r.latency.p99)),
  };
}

async function main() {
  console.log(`cluster bench: ${RUNS} runs × ${DURATION} s per target; cluster ${CLUSTER_NODES}`);
  const data = await prepareData(loadConfig(baseEnv));
  const results = {
    single: await measure('single', data),
    cluster: await measure('cluster', data),
  };
  const report = {
    ranAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    settings: {
      runs: RUNS,
      durationSeconds: DURATION,
      sessions: SESSIONS,
      apiInstances: PORTS.length,
    },
    results,
  };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(
    path.join(ROOT, 'bench', 'results', 'cluster-latest.json'),
    JSON.stringify(report, null, 2),
  );
  const row = (name: string, f: (typeof results)['single']) =>
    `| ${name} | ${Math.round(f.holdsPerSecond)} | ${f.holdP99Ms} | ${f.holdNon2xx} | ` +
    `${Math.round(f.raceRequestsPerSecond)} | ${f.raceP99Ms} | ${f.raceExact ? 'yes' : 'NO'} | ` +
    `${Object.values(f.sessionsPerMaster).join(' / ')} | ${Object.values(f.commandsPerMaster).join(' / ')} |`;
  console.log(
    [
      '| Redis | holds/s | hold p99 ms | hold non-2xx | race req/s | race p99 ms | race exact (100 of 10 000) | sessions per master | commands per master |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      row('single', results.single),
      row('cluster (3 masters)', results.cluster),
    ].join('\n'),
  );
  await dropDatabase(loadConfig(baseEnv));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
