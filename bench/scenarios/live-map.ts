/**
 * The live seat map under load (issue "Live seat map"): N subscribers follow one session on one
 * API instance while single-seat holds run on it. Reports change-to-delivery latency (from the
 * change's position in the log, which carries Redis's clock in ms, to the moment a subscriber
 * has the event) and the hold rate with the listeners against the rate on a session nobody
 * watches, in the same run.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';

export interface LiveMapFigures {
  subscribers: number;
  holds: number;
  holdsPerSecondWithoutListeners: number;
  holdsPerSecondWithListeners: number;
  ratioWithToWithout: number;
  delivered: number;
  expectedDeliveries: number;
  /** Subscribers the API disconnected for falling behind (the bench driver shares the CPUs). */
  droppedSubscribers: number;
  /** Subscribers that timed every event (the latency figures are theirs). */
  timedSubscribers: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

interface Session {
  sessionId: string;
  seatIds: string[];
}

/** How long a subscriber may wait for its snapshot before it counts as dropped. */
const SNAPSHOT_LIMIT_MS = 20_000;

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** `count` single-seat holds, `concurrency` at a time; returns holds per second. */
async function holdRate(
  apiUrl: string,
  session: Session,
  count: number,
  authorizations: string[],
  concurrency = 50,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const res = await fetch(`${apiUrl}/api/v1/holds`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: authorizations[i % authorizations.length]!,
          },
          body: JSON.stringify({ seatIds: [session.seatIds[i]] }),
        });
        await res.arrayBuffer();
      }
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** How better-sse names a seats event in the stream. */
const SEATS_EVENT = 'event:seats\n';
/** Every this many subscribers, one also times each event; the others only count them. */
const TIMED_EVERY = 10;

/**
 * One subscriber: counts the `seats` events it gets and, if `timed`, records the delivery
 * latency of each. Resolves once it has its snapshot, with the promise of its reading loop.
 * The driver shares the machine's two cores with the API it measures, so subscribers are plain
 * `http` requests (not `fetch`, whose web streams cost several times more per chunk), and only
 * some parse events: parsing 2 000 copies of every event would measure the driver.
 */
function subscribe(
  url: string,
  timed: boolean,
  latencies: number[],
  signal: AbortSignal,
): Promise<{ reading: Promise<void>; dropped: () => boolean; events: () => number }> {
  let text = '';
  let gotSnapshot = false;
  let dropped = false;
  let events = 0;
  let snapshot!: () => void;
  const ready = new Promise<void>((resolve) => (snapshot = resolve));
  // Whole events, until the snapshot (timed: all along, timing each `seats` event).
  const readBlocks = (now: number) => {
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      // SSE fields are `name:value` or `name: value` (better-sse writes the former).
      if (!gotSnapshot) {
        gotSnapshot = /^event: ?snapshot$/m.test(block);
        if (gotSnapshot) snapshot();
        if (gotSnapshot && !timed) return;
      } else if (/^event: ?seats$/m.test(block)) {
        events++;
        const id = /^id: ?(\d+)-/m.exec(block)?.[1];
        if (id) latencies.push(now - Number(id));
      }
    }
  };
  // Only counting: occurrences of the event's name, keeping a tail that may hold part of one.
  const countEvents = () => {
    let at = text.indexOf(SEATS_EVENT);
    let last = -1;
    for (; at >= 0; at = text.indexOf(SEATS_EVENT, at + 1)) {
      events++;
      last = at;
    }
    text = text.slice(Math.max(last + 1, text.length - SEATS_EVENT.length + 1));
  };
  const reading = new Promise<void>((resolve) => {
    const finish = () => {
      // The server ended the stream (a client too slow for it) before or after the snapshot.
      dropped = !signal.aborted;
      snapshot();
      resolve();
    };
    const req = http.get(url, { headers: { accept: 'text/event-stream' }, signal }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = Date.now();
        text += chunk;
        if (timed || !gotSnapshot) readBlocks(now);
        if (gotSnapshot && !timed) countEvents();
      });
      res.on('end', finish);
      res.on('error', finish);
    });
    req.on('error', finish);
  });
  // A subscriber that gets no snapshot within the limit counts as dropped, not as a hang.
  return Promise.race([
    ready,
    new Promise((resolve) => setTimeout(resolve, SNAPSHOT_LIMIT_MS)),
  ]).then(() => ({ reading, dropped: () => dropped || !gotSnapshot, events: () => events }));
}

export async function liveMapScenario(options: {
  apiUrl: string;
  subscribers: number;
  holds: number;
  quiet: Session;
  watched: Session;
  authorizations: string[];
}): Promise<LiveMapFigures> {
  const { apiUrl, subscribers, holds, quiet, watched, authorizations } = options;
  const without = await holdRate(apiUrl, quiet, holds, authorizations);

  const latencies: number[] = [];
  const abort = new AbortController();
  // Every subscriber listens on this one signal, to be closed together at the end.
  setMaxListeners(4 * subscribers, abort.signal);
  const url = `${apiUrl}/api/v1/sessions/${watched.sessionId}/seats/stream`;
  const readers: Awaited<ReturnType<typeof subscribe>>[] = [];
  // Connect in waves, as a premiere's audience arrives, not all in one instant.
  for (let i = 0; i < subscribers; i += 100) {
    readers.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, subscribers - i) }, (_, j) =>
          subscribe(url, (i + j) % TIMED_EVERY === 0, latencies, abort.signal),
        ),
      )),
    );
  }
  const withListeners = await holdRate(apiUrl, watched, holds, authorizations);
  const expected = subscribers * holds;
  const delivered = () => readers.reduce((sum, reader) => sum + reader.events(), 0);
  const deadline = Date.now() + 30_000;
  while (delivered() < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const dropped = readers.filter((r) => r.dropped()).length;
  abort.abort();
  await Promise.all(readers.map((r) => r.reading));
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    subscribers,
    holds,
    holdsPerSecondWithoutListeners: Math.round(without),
    holdsPerSecondWithListeners: Math.round(withListeners),
    ratioWithToWithout: Math.round((withListeners / without) * 100) / 100,
    delivered: delivered(),
    timedSubscribers: Math.ceil(subscribers / TIMED_EVERY),
    expectedDeliveries: expected,
    droppedSubscribers: dropped,
    latencyMs: {
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1) ?? NaN,
    },
  };
}
