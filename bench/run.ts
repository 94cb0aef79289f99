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
 *   BENCH_USERS (1000)    buyers with access tokens (20 sign in through the API, the rest are minted)
 *   BENCH_SCENARIOS       which to run: timed, races, floods, live-map, checkout (all by default)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { dropDatabase } from '../shared/db/database-admin';
import { initOrm } from '../shared/db/orm';
import { prepareDatabase } from '../shared/setup/prepare-database';
import { baseline, seatMapCeiling } from './scenarios/baseline';
import { bestAvailable } from './scenarios/best-available';
import { checkout } from './scenarios/checkout';
import { holdsBySeatId } from './scenarios/hold';
import { liveMapScenario } from './scenarios/live-map';
import { floods } from './scenarios/floods';
import { freshRaces, type FreshRace } from './scenarios/fresh-races';
import { race } from './scenarios/race';
import { seatMap } from './scenarios/seat-map';
import { giveEveryoneATokens, prepareData, SeatDealer, SpreadDealer } from './support/data';
import {
  CHECKOUTS,
  config,
  DURATION,
  logger,
  PORTS,
  RABBIT_PASSWORD,
  RABBIT_USER,
  ROOT,
  RUNS,
  SCENARIOS,
  SUBSCRIBERS,
  USERS,
  VHOST,
} from './support/environment';
import {
  clean,
  cpuDelta,
  cpuMsPer,
  cpuSnapshot,
  median,
  medianFigures,
  scrapeApi,
  type Figures,
} from './support/measure';
import {
  children,
  rabbitmqctl,
  startApi,
  startProcess,
  startWorkers,
  stopProcesses,
  waitUntilReady,
} from './support/processes';

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
  const evening = new SpreadDealer(data);

  const baselineServer = startProcess('bench/baseline-server.mjs', {
    PORT: String(PORTS.baseline),
  });
  await waitUntilReady(`http://127.0.0.1:${PORTS.baseline}/health/ready`);
  let apis = [await startApi(PORTS.api), await startApi(PORTS.api2)];
  const { signInMs } = await giveEveryoneATokens(data);
  // The whole system runs, as in production: the relay publishes every hold's events and the
  // holds worker expires them, on the same two cores as the API under load.
  const workers = startWorkers(1);
  await Promise.all(
    workers.metricsPorts.map((port) => waitUntilReady(`http://127.0.0.1:${port}/health/live`)),
  );
  const roles = new Map([...workers.roles, [apis[0]!, 'api'], [apis[1]!, 'api (2nd)']]);

  const runs = {
    baseline: [] as Figures[],
    hold: [] as Figures[],
    best: [] as Figures[],
    seatmap: [] as (Figures & { churnOperations: number })[],
    seatmapCeiling: [] as Figures[],
    holdCpu: [] as Record<string, number>[],
  };
  const races = [];
  const fresh: { oneSeat: FreshRace; pairs: FreshRace }[] = [];
  for (let run = 1; (SCENARIOS.has('timed') || SCENARIOS.has('races')) && run <= RUNS; run++) {
    console.log(
      `run ${run}/${RUNS}: ${[...SCENARIOS].filter((s) => s === 'timed' || s === 'races').join(', ')}`,
    );
    if (SCENARIOS.has('races')) {
      races.push(await race(data, dealer, redis));
      fresh.push(await freshRaces(orm, redis, dealer));
    }
    if (!SCENARIOS.has('timed')) continue;
    runs.baseline.push(await baseline(data));
    const cpuBefore = cpuSnapshot(roles);
    const hold = await holdsBySeatId(data, evening);
    runs.hold.push(hold);
    runs.holdCpu.push(
      cpuMsPer(cpuDelta(cpuBefore, cpuSnapshot(roles)), hold.requestsPerSecond * DURATION),
    );
    runs.best.push(await bestAvailable(data, dealer));
    runs.seatmap.push(await seatMap(data));
    runs.seatmapCeiling.push(await seatMapCeiling(data));
  }
  let liveMap;
  if (SCENARIOS.has('live-map')) {
    console.log(`live map: ${SUBSCRIBERS} subscribers on one session while holds run`);
    liveMap = await liveMapScenario({
      apiUrl: `http://127.0.0.1:${PORTS.api}`,
      subscribers: SUBSCRIBERS,
      holds: 1000,
      quiet: dealer.freshSession(),
      watched: dealer.freshSession(),
      authorizations: [...data.bearer.values()],
    });
  }
  const apiMetrics = await scrapeApi();
  await stopProcesses([baselineServer, ...workers.processes]);

  let floodFigures;
  if (SCENARIOS.has('floods')) {
    console.log('floods: sign-ins, streams, waits and bodies beside a legitimate buyer');
    floodFigures = await floods(data, dealer);
  }

  let checkout1, checkout3;
  if (SCENARIOS.has('checkout')) {
    // Checkouts start from an empty Redis (no leftover holds or delayed jobs from the timed runs).
    await stopProcesses(apis);
    await redis.flushdb();
    apis = [await startApi(PORTS.api)];
    console.log('checkout: 1 copy of each worker');
    checkout1 = await checkout(data, dealer, orm, 1, apis[0]!);
    console.log('checkout: 3 copies of each worker');
    checkout3 = await checkout(data, dealer, orm, 3, apis[0]!);
  }
  await stopProcesses(apis);

  const scenarios: Record<string, unknown> = {};
  const targets: Record<string, { target: string; value?: number; met: boolean }> = {};
  if (SCENARIOS.has('timed')) {
    const base = medianFigures(runs.baseline);
    const hold = medianFigures(runs.hold);
    const best = medianFigures(runs.best);
    const seatmap = medianFigures(runs.seatmap);
    const ceiling = medianFigures(runs.seatmapCeiling);
    const ratio = (f: Figures) =>
      Math.round((f.requestsPerSecond / base.requestsPerSecond) * 100) / 100;
    Object.assign(scenarios, {
      baseline: { median: base, runs: runs.baseline },
      hold: {
        median: hold,
        runs: runs.hold,
        cpuMsPerHold: medianByRole(runs.holdCpu),
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
      seatmap: {
        median: seatmap,
        runs: runs.seatmap,
        ratioToBaseline: ratio(seatmap),
        ratioToCeiling:
          Math.round((seatmap.requestsPerSecond / ceiling.requestsPerSecond) * 100) / 100,
      },
      seatmapCeiling: {
        median: ceiling,
        runs: runs.seatmapCeiling,
        ratioToBaseline: ratio(ceiling),
      },
      signInMs,
    });
    Object.assign(targets, {
      holdThroughput: {
        target: '≥ 0.5 × baseline',
        value: ratio(hold),
        met: ratio(hold) >= 0.5 && clean(...runs.hold, ...runs.baseline),
      },
      holdP99: {
        target: '≤ 2 × baseline p99',
        value: hold.p99 / base.p99,
        met: hold.p99 <= 2 * base.p99 && clean(...runs.hold, ...runs.baseline),
      },
      seatmap: {
        target: '≥ 0.8 × baseline',
        value: ratio(seatmap),
        met: ratio(seatmap) >= 0.8 && clean(...runs.seatmap),
      },
      bestAvailable: {
        target: '≥ 0.7 × holds by seatIds',
        value: best.requestsPerSecond / hold.requestsPerSecond,
        met: best.requestsPerSecond >= 0.7 * hold.requestsPerSecond && clean(...runs.best),
      },
    });
    const row = (name: string, f: Figures, r: string) =>
      `| ${name.padEnd(9)} | ${f.requestsPerSecond.toFixed(0).padStart(7)} | ${String(f.p50).padStart(4)} | ${String(f.p90).padStart(4)} | ${String(f.p99).padStart(4)} | ${r.padStart(6)} |`;
    console.log('\n| scenario  |   req/s |  p50 |  p90 |  p99 | × base |');
    console.log('|-----------|---------|------|------|------|--------|');
    console.log(row('baseline', base, '1.00'));
    console.log(row('hold', hold, ratio(hold).toFixed(2)));
    console.log(`  refused or failed: ${hold.non2xx} non-2xx, ${hold.errors} errors`);
    console.log(`  CPU ms per hold: ${JSON.stringify(medianByRole(runs.holdCpu))}`);
    console.log(row('best', best, ratio(best).toFixed(2)));
    console.log(row('seatmap', seatmap, ratio(seatmap).toFixed(2)));
    console.log(row('map ceil.', ceiling, ratio(ceiling).toFixed(2)));
    console.log(`sign-in through the API: ${signInMs.toFixed(0)} ms each`);
  }
  if (SCENARIOS.has('races')) {
    const oneSeat = median(fresh.map((r) => r.oneSeat.lastAnswerSeconds));
    Object.assign(scenarios, {
      race: { runs: races, allExact: races.every((r) => r.exact) },
      freshRaces: {
        runs: fresh,
        oneSeatMedianSeconds: oneSeat,
        pairsMedianSeconds: median(fresh.map((r) => r.pairs.lastAnswerSeconds)),
      },
    });
    Object.assign(targets, {
      race: { target: 'exact', met: races.every((r) => r.exact) },
      freshOneSeatRace: {
        target: '500 fresh buyers on one seat: exact, last answer ≤ 0.6 s',
        value: oneSeat,
        met: oneSeat <= 0.6 && fresh.every((r) => r.oneSeat.exact && r.pairs.exact),
      },
    });
    for (const [i, { oneSeat, pairs }] of fresh.entries()) {
      const line = (name: string, r: FreshRace) =>
        `${name} ${r.created} held / ${r.conflicts} conflicts / ${r.other} other of ${r.buyers} fresh buyers, last answer ${r.lastAnswerSeconds.toFixed(2)} s`;
      console.log(
        `fresh race ${i + 1}: ${line('one seat:', oneSeat)}; ${line('20 pairs:', pairs)}; ` +
          `ratio ${(oneSeat.lastAnswerSeconds / pairs.lastAnswerSeconds).toFixed(1)} → ${oneSeat.exact && pairs.exact ? 'exact' : 'NOT EXACT'}`,
      );
    }
    for (const [i, r] of races.entries()) {
      console.log(
        `race ${i + 1}: ${r.created} holds / ${r.conflicts} conflicts of ${r.requests} on 2 API instances, ${r.heldInRedis} seats held in Redis, settled in ${r.settleSeconds.toFixed(2)} s → ${r.exact ? 'exact' : 'NOT EXACT'}`,
      );
    }
  }
  if (liveMap) {
    scenarios.liveMap = liveMap;
    targets.liveMapP99 = {
      target: `p99 change-to-delivery ≤ 250 ms (${SUBSCRIBERS} subscribers)`,
      value: liveMap.latencyMs.p99,
      met: liveMap.latencyMs.p99 <= 250 && liveMap.delivered === liveMap.expectedDeliveries,
    };
    console.log(
      `live map: ${liveMap.subscribers} subscribers, ${liveMap.delivered}/${liveMap.expectedDeliveries} changes delivered, ` +
        `change→delivery p50 ${liveMap.latencyMs.p50} ms p99 ${liveMap.latencyMs.p99} ms; holds ${liveMap.holdsPerSecondWithListeners}/s ` +
        `with them vs ${liveMap.holdsPerSecondWithoutListeners}/s without (${liveMap.ratioWithToWithout}×), ${liveMap.droppedSubscribers} dropped ` +
        `(latency timed on ${liveMap.timedSubscribers} of them)`,
    );
  }
  if (floodFigures) {
    scenarios.floods = floodFigures;
    const worst = Math.max(...Object.values(floodFigures.floods).map((f) => f.ratio));
    targets.floods = {
      target: "a legitimate buyer's hold p99 during each flood ≤ 2 × its quiet p99",
      value: worst,
      met: worst <= 2,
    };
    console.log(`floods: the buyer's quiet hold p99 ${floodFigures.quietP99Ms.toFixed(1)} ms`);
    for (const [name, f] of Object.entries(floodFigures.floods))
      console.log(
        `  ${name}: p99 ${f.p99Ms.toFixed(1)} ms (${f.ratio}×) over ${f.holds} holds; flood answered ${JSON.stringify(f.refused)}`,
      );
  }
  if (checkout1 && checkout3) {
    scenarios.checkout = { oneCopy: checkout1, threeCopies: checkout3 };
    Object.assign(targets, {
      checkoutThroughput: {
        target: '≥ 150 paid/s end to end (1 copy of each worker)',
        value: checkout1.paidOrdersPerSecond,
        met: checkout1.paidOrdersPerSecond >= 150,
      },
      checkoutP99: {
        target: 'p99 payment→paid ≤ 1 s as the buyer sees it (1 copy)',
        value: checkout1.paymentToPaidP99Ms,
        met: checkout1.paymentToPaidP99Ms <= 1000,
      },
      checkoutCpu: {
        target: '≤ 10 CPU-ms per checkout, all processes (1 copy)',
        value: checkout1.cpuMsPerCheckout.total,
        met: checkout1.cpuMsPerCheckout.total <= 10,
      },
    });
    for (const c of [checkout1, checkout3]) {
      console.log(
        `checkout ×${c.workerCopies}: ${c.paid}/${c.accepted} paid (${JSON.stringify(c.outcomes)}), ${c.paidOrdersPerSecond.toFixed(0)} paid/s, ` +
          `end to end p50 ${c.endToEndP50Ms} ms p99 ${c.endToEndP99Ms} ms, payment→paid p50 ${c.paymentToPaidP50Ms} ms p99 ${c.paymentToPaidP99Ms} ms, ` +
          `${c.activeTickets} tickets on ${c.distinctSeats} seats; CPU ms per checkout ${JSON.stringify(c.cpuMsPerCheckout)}`,
      );
      console.log(`  CPU seconds: ${JSON.stringify(c.where.cpuSeconds)}`);
    }
  }
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
      scenarios: [...SCENARIOS],
      runs: RUNS,
      durationSeconds: DURATION,
      connections: 50,
      users: USERS,
      checkouts: CHECKOUTS,
      rateLimits: 'off',
    },
    scenarios,
    where: { api: apiMetrics },
    targets,
  };
  console.log('\ntargets:', JSON.stringify(report.targets, null, 1));
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench/results/latest.json'), JSON.stringify(report, null, 2));
  console.log('\nwrote bench/results/latest.json');

  await redis.flushdb();
  await redis.quit();
  await orm.close(true);
}

/** Per role, the median over runs of CPU ms per operation. */
const medianByRole = (runs: Record<string, number>[]) =>
  Object.fromEntries(
    Object.keys(runs[0] ?? {}).map((role) => [role, median(runs.map((r) => r[role] ?? 0))]),
  );

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
