import type { ChildProcess } from 'node:child_process';
import type { Orm } from '../../shared/db/orm';
import type { BenchData, SeatDealer } from '../support/data';
import { CHECKOUTS, PORTS } from '../support/environment';
import { cpuDelta, cpuMsPer, cpuSnapshot, jsonRequester, scrapeWorkers } from '../support/measure';
import { startWorkers, stopProcesses, waitUntilReady } from '../support/processes';

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/**
 * CHECKOUTS whole checkouts as buyers make them, through the public API only: 100 signed-in
 * buyers at a time each hold a seat, confirm, pay with pix and ask for the order with
 * `Prefer: wait=30`, which answers once it is paid. Reports paid checkouts per second, the
 * buyer's end-to-end time (hold request to the `paid` answer) and payment-to-paid time, and CPU
 * milliseconds per paid checkout by process. Postgres is read only afterwards, to check that
 * every ticket is on a distinct seat.
 */
export async function checkout(
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
  const endToEndMs: number[] = [];
  const paymentToPaidMs: number[] = [];
  const outcomes: Record<string, number> = {};
  let failures = 0;
  let next = 0;
  let lastPaidAt = 0;
  const request = jsonRequester(api, 100);
  const buyer = async () => {
    while (next < CHECKOUTS) {
      const i = next++;
      const authorization = data.bearer.get(data.users[i % data.users.length]!)!;
      const begun = performance.now();
      const hold = await request(
        'POST',
        '/api/v1/holds',
        { authorization },
        {
          seatIds: [dealer.next()],
        },
      );
      if (hold.status !== 201) {
        failures++;
        continue;
      }
      const { holdId, holdToken } = hold.body as { holdId: string; holdToken: string };
      const asHolder = { authorization, 'x-hold-token': holdToken };
      await request('POST', `/api/v1/holds/${holdId}/confirm`, asHolder, {});
      const paying = performance.now();
      const payment = await request('POST', `/api/v1/holds/${holdId}/payment`, asHolder, {
        method: 'pix',
      });
      if (payment.status !== 202) {
        failures++;
        continue;
      }
      const { orderId } = payment.body as { orderId: string };
      orderIds.push(orderId);
      const order = await request('GET', `/api/v1/orders/${orderId}`, {
        authorization,
        prefer: 'wait=30',
      });
      const body = order.body as { status?: string; error?: { code: string } };
      const status = body.status ?? `${order.status} ${body.error?.code}`;
      outcomes[status] = (outcomes[status] ?? 0) + 1;
      if (status === 'paid') {
        const now = performance.now();
        endToEndMs.push(now - begun);
        paymentToPaidMs.push(now - paying);
        lastPaidAt = now;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 100 }, buyer));
  const cpuSeconds = cpuDelta(cpuBefore, cpuSnapshot(roles));
  const [tickets] = await orm.em.getConnection().execute<{ count: number; seats: number }[]>(
    `select count(*)::int as count, count(distinct seat_id)::int as seats from tickets t
       where t.status = 'active' and t.order_id in (?)`,
    [orderIds],
  );
  const workerMetrics = await scrapeWorkers(workers.metricsPorts);
  await stopProcesses(workers.processes);
  const paid = outcomes.paid ?? 0;
  const [endToEnd, toPaid] = [endToEndMs, paymentToPaidMs].map((ms) => ms.sort((x, y) => x - y));
  const cpuMsPerCheckout = cpuMsPer(cpuSeconds, paid);
  return {
    workerCopies: copies,
    checkouts: CHECKOUTS,
    accepted: orderIds.length,
    failures,
    outcomes,
    paid,
    activeTickets: tickets!.count,
    distinctSeats: tickets!.seats,
    paidOrdersPerSecond: paid / ((lastPaidAt - started) / 1000),
    endToEndP50Ms: Math.round(percentile(endToEnd!, 0.5)),
    endToEndP99Ms: Math.round(percentile(endToEnd!, 0.99)),
    paymentToPaidP50Ms: Math.round(percentile(toPaid!, 0.5)),
    paymentToPaidP99Ms: Math.round(percentile(toPaid!, 0.99)),
    cpuMsPerCheckout: {
      // The system's processes and servers; the load generator is listed, not counted.
      total:
        Math.round(
          Object.entries(cpuMsPerCheckout)
            .filter(([role]) => role !== 'bench driver')
            .reduce((sum, [, ms]) => sum + ms, 0) * 100,
        ) / 100,
      ...cpuMsPerCheckout,
    },
    where: { ...workerMetrics, cpuSeconds },
  };
}
