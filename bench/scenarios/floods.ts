/**
 * The floods of the flood suite (test/e2e/floods.test.ts) against an API with the contract's
 * default limits on, each beside a legitimate buyer who holds a seat and releases it, again and
 * again: the buyer's hold p99 during each flood against the same buyer on a quiet API. The
 * target is within 2× (the spec's "a flood from a few clients leaves a buyer's hold within 2× of
 * its quiet-day p99").
 */
import {
  bodies,
  bodyOfSize,
  legitimateHolds,
  manyKeysBody,
  openMany,
  p99,
  send,
  wrongPasswordSignIns,
  type Tally,
} from '../support/floods';
import { mintAccessTokens, type BenchData, type SeatDealer } from '../support/data';
import { PORTS } from '../support/environment';
import { startApi, stopProcesses } from '../support/processes';

const QUIET_ROUNDS = 200;
/**
 * How long each flood lasts: a crowd arriving over seconds, so the buyer's p99 is over many holds
 * (a single burst of 2 000 connections is the e2e test's, which asserts the refusals).
 */
const FLOOD_MS = 10_000;

export interface FloodFigures {
  quietP99Ms: number;
  floods: Record<string, { p99Ms: number; ratio: number; holds: number; refused: Tally }>;
}

/** An order that stays `processing` (no payments worker runs during this scenario). */
async function unpaidOrder(baseUrl: string, authorization: string, seatId: string) {
  const hold = await send(baseUrl, 'POST', '/api/v1/holds', {
    headers: { authorization },
    body: { seatIds: [seatId] },
  });
  const { holdId, holdToken } = JSON.parse(hold.body) as { holdId: string; holdToken: string };
  const asOwner = { authorization, 'x-hold-token': holdToken };
  await send(baseUrl, 'POST', `/api/v1/holds/${holdId}/confirm`, { headers: asOwner, body: {} });
  const payment = await send(baseUrl, 'POST', `/api/v1/holds/${holdId}/payment`, {
    headers: asOwner,
    body: { method: 'pix' },
  });
  if (payment.status !== 202) throw new Error(`floods: payment got ${payment.status}`);
  return (JSON.parse(payment.body) as { orderId: string }).orderId;
}

/** Needs the workers stopped: the waits wait on an order no worker pays. */
export async function floods(data: BenchData, dealer: SeatDealer): Promise<FloodFigures> {
  const api = await startApi(PORTS.guarded, {
    AUTH_RATE_LIMIT_PER_IP: '60',
    AUTH_RATE_LIMIT_PER_EMAIL: '10',
    LIVE_MAP_MAX_STREAMS_PER_ADDRESS: '8',
  });
  const baseUrl = `http://127.0.0.1:${PORTS.guarded}`;
  const [buyer] = data.users;
  const [authorization] = (await mintAccessTokens([buyer!])).values();
  const { sessionId, seatIds } = dealer.freshSession();
  const holds = { authorization: authorization!, seatIds: seatIds.slice(0, 4) };
  try {
    const orderId = await unpaidOrder(baseUrl, authorization!, seatIds[4]!);
    const quiet = p99(await legitimateHolds(baseUrl, { ...holds, rounds: QUIET_ROUNDS }));
    const during = async (flood: () => Promise<{ tally: Tally; after?: () => void }>) => {
      let done = false;
      const latencies: number[] = [];
      const flooding = flood().finally(() => {
        done = true;
      });
      while (!done) latencies.push(...(await legitimateHolds(baseUrl, { ...holds, rounds: 1 })));
      const { tally, after } = await flooding;
      after?.();
      const p = p99(latencies);
      return {
        p99Ms: p,
        ratio: Math.round((p / quiet) * 100) / 100,
        holds: latencies.length,
        refused: tally,
      };
    };
    return {
      quietP99Ms: quiet,
      floods: {
        signIns: await during(async () => ({
          tally: await wrongPasswordSignIns(baseUrl, {
            parallel: 20,
            durationMs: FLOOD_MS,
            email: 'bench1@example.com',
          }),
        })),
        streams: await during(async () => {
          const { tally, hangUpAll } = await openMany(
            baseUrl,
            `/api/v1/sessions/${sessionId}/seats/stream`,
            2_000,
            { spreadMs: FLOOD_MS },
          );
          return { tally, after: hangUpAll };
        }),
        waits: await during(async () => {
          const { tally, hangUpAll } = await openMany(baseUrl, `/api/v1/orders/${orderId}`, 100, {
            headers: { authorization: authorization!, prefer: 'wait=30' },
          });
          return { tally, after: hangUpAll };
        }),
        bodies: await during(async () => ({
          tally: await bodies(
            baseUrl,
            '/api/v1/holds',
            [bodyOfSize(64 * 1024 + 1), manyKeysBody(100_000)],
            { times: 50, headers: { authorization: authorization! }, spreadMs: FLOOD_MS },
          ),
        })),
      },
    };
  } finally {
    await stopProcesses([api]);
  }
}
