/**
 * The live seat map under load (issue "Live seat map"): N subscribers follow one session on one
 * API instance while single-seat holds run on it. Reports change-to-delivery latency (from the
 * change's position in the log, which carries Redis's clock in ms, to the moment a subscriber
 * has the event) and the hold rate with the listeners against the rate on a session nobody
 * watches, in the same run.
 */
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

/**
 * One subscriber: records the delivery latency of every `seats` event. Resolves once it has its
 * snapshot, with the promise of its reading loop.
 */
async function subscribe(
  url: string,
  latencies: number[],
  signal: AbortSignal,
): Promise<{ reading: Promise<void>; dropped: () => boolean }> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal });
  const decoder = new TextDecoder();
  let text = '';
  let snapshot!: () => void;
  let gotSnapshot = false;
  const ready = new Promise<void>((resolve) => (snapshot = resolve));
  let dropped = false;
  const reading = (async () => {
    for await (const chunk of res.body!) {
      const now = Date.now();
      text += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        if (block.startsWith('event: snapshot')) {
          gotSnapshot = true;
          snapshot();
        } else if (block.startsWith('event: seats')) {
          const id = /\nid: (\d+)-/.exec(block)?.[1];
          if (id) latencies.push(now - Number(id));
        }
      }
    }
  })()
    .catch(() => undefined)
    .finally(() => {
      // The server ended the stream (a client too slow for it) before or after the snapshot.
      dropped = !signal.aborted;
      snapshot();
    });
  // A subscriber that gets no snapshot within the limit counts as dropped, not as a hang.
  await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, SNAPSHOT_LIMIT_MS))]);
  return { reading, dropped: () => dropped || !gotSnapshot };
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
  const url = `${apiUrl}/api/v1/sessions/${watched.sessionId}/seats/stream`;
  const readers: Awaited<ReturnType<typeof subscribe>>[] = [];
  // Connect in waves, as a premiere's audience arrives, not all in one instant.
  for (let i = 0; i < subscribers; i += 100) {
    readers.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, subscribers - i) }, () =>
          subscribe(url, latencies, abort.signal),
        ),
      )),
    );
  }
  const withListeners = await holdRate(apiUrl, watched, holds, authorizations);
  const expected = subscribers * holds;
  const deadline = Date.now() + 30_000;
  while (latencies.length < expected && Date.now() < deadline) {
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
    delivered: latencies.length,
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
