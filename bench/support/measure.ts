/** Figures from autocannon, medians, and where the time went (CPU per process, metrics). */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import autocannon, { type Result } from 'autocannon';
import { DURATION, METRICS_TOKEN, PORTS } from './environment';

export interface Figures {
  /** Successful (2xx) answers per second: a refused or failed request is not throughput. */
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export const figures = (r: Result): Figures => ({
  requestsPerSecond: r['2xx'] / r.duration,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  non2xx: r.non2xx,
  errors: r.errors,
});

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const medianFigures = (runs: Figures[]): Figures => ({
  requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
  p50: median(runs.map((r) => r.p50)),
  p90: median(runs.map((r) => r.p90)),
  p99: median(runs.map((r) => r.p99)),
  non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
  errors: runs.reduce((a, r) => a + r.errors, 0),
});

/** Whether a run's figures count: a target is met only by a run without errors or refusals. */
export const clean = (...runs: Figures[]) => runs.every((f) => f.errors === 0 && f.non2xx === 0);

/** POSTs JSON bodies from `next`, each as the buyer it names (their own bearer token), if any. */
export function postJson(
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

/**
 * CPU seconds (user + system) a process has used, from /proc (Linux); with `reapedChildren`, also
 * those of its children that have exited. A server's backends come and go (PostgreSQL forks one
 * per connection): counted without the ones gone, its CPU would even seem to shrink.
 */
export function processCpuSeconds(pid: number, reapedChildren = false): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime, stime, cutime, cstime, in clock ticks (100 Hz)
    const ticks = [11, 12, ...(reapedChildren ? [13, 14] : [])].map((i) => Number(fields[i]));
    return ticks.reduce((a, b) => a + b, 0) / 100;
  } catch {
    return 0;
  }
}

export const serverPids = (name: string) => {
  try {
    return execFileSync('pgrep', ['-f', name], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
};

/** CPU seconds per component: our processes by role, and the three servers. */
export function cpuSnapshot(roles: Map<ChildProcess, string>): Record<string, number> {
  const totals: Record<string, number> = {};
  const add = (role: string, seconds: number) => (totals[role] = (totals[role] ?? 0) + seconds);
  for (const [child, role] of roles) if (child.pid) add(role, processCpuSeconds(child.pid));
  for (const pid of serverPids('postgres')) add('postgres', processCpuSeconds(pid, true));
  for (const pid of serverPids('redis-server')) add('redis', processCpuSeconds(pid, true));
  for (const pid of serverPids('beam.smp')) add('rabbitmq', processCpuSeconds(pid, true));
  add('bench driver', process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6);
  return totals;
}

export const cpuDelta = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(
        ([role, seconds]) =>
          [role, Math.round((seconds - (before[role] ?? 0)) * 100) / 100] as const,
      )
      .sort((a, b) => b[1] - a[1]),
  );

/** CPU milliseconds per operation by role, from CPU seconds by role (cpuDelta). */
export const cpuMsPer = (cpuSeconds: Record<string, number>, operations: number) =>
  Object.fromEntries(
    Object.entries(cpuSeconds).map(([role, seconds]) => [
      role,
      Math.round(((seconds * 1000) / Math.max(operations, 1)) * 1000) / 1000,
    ]),
  );

/** Mean of a Prometheus histogram (sum / count) per label set, from text exposition. */
export function histogramMeans(text: string, name: string): Record<string, number> {
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

export async function scrapeWorkers(ports: number[]) {
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

export async function scrapeApi() {
  const text = await fetch(`http://127.0.0.1:${PORTS.api}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  }).then((r) => r.text());
  return { httpMeanMs: histogramMeans(text, 'http_request_duration_seconds') };
}

/**
 * A buyer's request over keep-alive connections with node:http: the drivers that play buyers'
 * sequences share the two cores with what they measure, and `fetch` (undici) cost them about
 * 1 CPU-ms per request.
 */
export function jsonRequester(base: string, maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return (
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        `${base}${path}`,
        {
          method,
          agent,
          headers: payload
            ? {
                ...headers,
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(payload),
              }
            : headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}
