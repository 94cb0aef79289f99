/**
 * Floods a few clients can send, and a legitimate buyer's holds measured while they run: used by
 * the flood suite (test/e2e/floods.test.ts, which asserts the refusals) and by the bench (which
 * reports the legitimate buyer's p99 during each flood against the same buyer without it).
 * Plain node:http, each request on a connection of its own, as separate clients would send them.
 */
import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Status codes seen, and requests that got no answer at all (connection refused or reset). */
export interface Tally {
  byStatus: Record<number, number>;
  noAnswer: number;
}

const newTally = (): Tally => ({ byStatus: {}, noAnswer: 0 });
const count = (tally: Tally, status: number | undefined) => {
  if (status === undefined) tally.noAnswer++;
  else tally.byStatus[status] = (tally.byStatus[status] ?? 0) + 1;
};

/** One request on a connection of its own; `body` as given (a Buffer is sent byte for byte). */
export function send(
  baseUrl: string,
  method: string,
  path: string,
  { headers = {}, body }: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const payload =
    body === undefined
      ? undefined
      : Buffer.isBuffer(body)
        ? body
        : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}${path}`,
      {
        method,
        agent: false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': payload.length, ...headers }
          : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** `total` calls of `one`, all at once, or spread evenly over `spreadMs` (a sustained flood). */
const launch = (total: number, spreadMs: number, one: (i: number) => Promise<void>) =>
  Promise.all(
    Array.from({ length: total }, (_, i) =>
      spreadMs > 0
        ? new Promise<void>((resolve) =>
            setTimeout(() => resolve(one(i)), Math.floor((i * spreadMs) / total)),
          )
        : one(i),
    ),
  );

/** Like `send`, counted in `tally`; a request the server cut off counts as no answer. */
const sendCounted = (tally: Tally, ...args: Parameters<typeof send>) =>
  send(...args).then(
    (answer) => count(tally, answer.status),
    () => count(tally, undefined),
  );

/** `parallel` clients signing in with a wrong password, one after another, for `durationMs`. */
export async function wrongPasswordSignIns(
  baseUrl: string,
  { parallel, durationMs, email }: { parallel: number; durationMs: number; email: string },
): Promise<Tally> {
  const tally = newTally();
  const until = Date.now() + durationMs;
  const client = async () => {
    while (Date.now() < until)
      await sendCounted(tally, baseUrl, 'POST', '/api/v1/auth/token', {
        body: { email, password: 'not-the-password-at-all' },
      });
  };
  await Promise.all(Array.from({ length: parallel }, client));
  return tally;
}

/** A response the server keeps open (an event stream, a long wait), and a way to hang up. */
export interface OpenResponse {
  /** Undefined while the server has not answered at all (a wait still waiting). */
  status: number | undefined;
  hangUp: () => void;
}

/**
 * Opens `total` GETs, at once or spread over `spreadMs`. Each is counted by its status when the server answers within
 * `settleMs`; a 2xx (an event stream) and a request still unanswered by then (a wait still
 * waiting, counted as `waiting`) stay open until `hangUpAll`.
 */
export async function openMany(
  baseUrl: string,
  path: string,
  total: number,
  {
    headers = {},
    settleMs = 2_000,
    spreadMs = 0,
  }: { headers?: Record<string, string>; settleMs?: number; spreadMs?: number } = {},
): Promise<{ tally: Tally; waiting: number; open: OpenResponse[]; hangUpAll: () => void }> {
  const tally = newTally();
  const open: OpenResponse[] = [];
  let waiting = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      let settled = false;
      const settle = (then: () => void) => {
        if (settled) return;
        settled = true;
        then();
        resolve();
      };
      const req = http.get(`${baseUrl}${path}`, { agent: false, headers }, (res) =>
        settle(() => {
          count(tally, res.statusCode);
          if ((res.statusCode ?? 0) < 300)
            open.push({ status: res.statusCode, hangUp: () => req.destroy() });
          else res.resume();
        }),
      );
      req.on('error', () => settle(() => count(tally, undefined)));
      setTimeout(
        () =>
          settle(() => {
            waiting++;
            open.push({ status: undefined, hangUp: () => req.destroy() });
          }),
        settleMs,
      );
    });
  await launch(total, spreadMs, one);
  return { tally, waiting, open, hangUpAll: () => open.forEach((o) => o.hangUp()) };
}

/** `times` copies of each body POSTed to `path`, all at once or spread over `spreadMs`. */
export async function bodies(
  baseUrl: string,
  path: string,
  payloads: Buffer[],
  {
    times = 1,
    headers = {},
    spreadMs = 0,
  }: { times?: number; headers?: Record<string, string>; spreadMs?: number } = {},
): Promise<Tally> {
  const tally = newTally();
  const all = payloads.flatMap((payload) => Array.from({ length: times }, () => payload));
  await launch(all.length, spreadMs, (i) =>
    sendCounted(tally, baseUrl, 'POST', path, { headers, body: all[i] }),
  );
  return tally;
}

/** A JSON body of exactly `bytes` bytes (`{"seatIds":["xx…x"]}`). */
export const bodyOfSize = (bytes: number) =>
  Buffer.from(JSON.stringify({ seatIds: ['x'.repeat(bytes - '{"seatIds":[""]}'.length)] }));

/** A JSON object of `keys` unknown keys (`{"k0":0,"k1":0,…}`). */
export const manyKeysBody = (keys: number) =>
  Buffer.from(`{${Array.from({ length: keys }, (_, i) => `"k${i}":0`).join(',')}}`);

/**
 * A legitimate buyer holding one seat at a time and releasing it, `rounds` times: the latency of
 * each hold request (ms). Every hold and release must succeed; a refusal throws.
 */
export async function legitimateHolds(
  baseUrl: string,
  { authorization, seatIds, rounds }: { authorization: string; seatIds: string[]; rounds: number },
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const seatId = seatIds[i % seatIds.length]!;
    const started = performance.now();
    const hold = await send(baseUrl, 'POST', '/api/v1/holds', {
      headers: { authorization },
      body: { seatIds: [seatId] },
    });
    latencies.push(performance.now() - started);
    if (hold.status !== 201)
      throw new Error(`the legitimate buyer's hold got ${hold.status}: ${hold.body}`);
    const { holdId, holdToken } = JSON.parse(hold.body) as { holdId: string; holdToken: string };
    const release = await send(baseUrl, 'DELETE', `/api/v1/holds/${holdId}`, {
      headers: { authorization, 'x-hold-token': holdToken },
    });
    if (release.status !== 204)
      throw new Error(`the legitimate buyer's release got ${release.status}: ${release.body}`);
  }
  return latencies;
}

export const p99 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN;
};
