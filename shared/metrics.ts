import { collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * The Prometheus metrics of every process (§4.5). Each process exposes the ones it updates:
 * the API at GET /metrics (admin), each worker at GET /metrics on METRICS_PORT. Names follow
 * Prometheus conventions (units in the name, `_total` for counters).
 */
collectDefaultMetrics({ register });

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request latency by route template, method and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
});

export const holdOutcomes = new Counter({
  name: 'holds_total',
  help: 'Hold attempts by outcome: created, conflict (seat taken), no_seats (best available found none), limit (HOLD_LIMIT), expired, released',
  labelNames: ['outcome'] as const,
});

export const jobDuration = new Histogram({
  name: 'bullmq_job_duration_seconds',
  help: 'Time a BullMQ job spent in its processor, by queue',
  labelNames: ['queue'] as const,
  buckets: LATENCY_BUCKETS,
});

export const jobLateness = new Histogram({
  name: 'bullmq_job_lateness_seconds',
  help: 'How long after it was due a job started (an overdue expiry shows here), by queue',
  labelNames: ['queue'] as const,
  buckets: LATENCY_BUCKETS,
});

export const queueDepth = new Gauge({
  name: 'bullmq_queue_jobs',
  help: 'Jobs per BullMQ queue and state, read at scrape time',
  labelNames: ['queue', 'state'] as const,
});

export const paymentOutcomes = new Counter({
  name: 'payments_total',
  help: 'Payment outcomes: approved, declined (payment worker); paid, failed (finaliser); refunded',
  labelNames: ['outcome'] as const,
});

export const paymentToPaid = new Histogram({
  name: 'payment_to_paid_seconds',
  help: 'From the payment request to the committed sale',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
});

export const consumerMessages = new Counter({
  name: 'rabbitmq_consumer_messages_total',
  help: 'Messages handled by a consumer, by queue and result (acked, retried, dead_lettered, redelivered)',
  labelNames: ['queue', 'result'] as const,
});

export const consumerLag = new Gauge({
  name: 'rabbitmq_consumer_lag_messages',
  help: 'Messages waiting in a consumer queue (ready), read at scrape time',
  labelNames: ['queue'] as const,
});

export const outboxBacklog = new Gauge({
  name: 'outbox_unpublished_events',
  help: 'Events waiting to be relayed: Postgres outbox rows and Redis stream entries, read at scrape time',
  labelNames: ['source'] as const,
});

const scrapeHooks = new Set<() => Promise<void>>();

/**
 * Registers a reading taken when Prometheus scrapes (queue depths, backlogs), rather than on
 * every change. Returns the function that unregisters it (call it when the resource closes).
 */
export function beforeScrape(hook: () => Promise<void>): () => void {
  scrapeHooks.add(hook);
  return () => scrapeHooks.delete(hook);
}

/** The Prometheus text exposition, fresh readings included. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  // A reading that fails (Redis away, say) leaves its gauge at the last value; the scrape still answers.
  await Promise.all([...scrapeHooks].map((hook) => hook().catch(() => undefined)));
  return { contentType: register.contentType, body: await register.metrics() };
}

/** Reads every queue's job counts into `bullmq_queue_jobs`. */
export function watchQueueDepths(
  queues: { name: string; getJobCounts: () => Promise<Record<string, number>> }[],
) {
  return beforeScrape(async () => {
    for (const queue of queues) {
      const counts = await queue.getJobCounts();
      for (const [state, count] of Object.entries(counts))
        queueDepth.set({ queue: queue.name, state }, count);
    }
  });
}

export const eventsReturned = new Counter({
  name: 'rabbitmq_events_returned_total',
  help: 'Mandatory events the broker could not route to any queue (retried by their publisher); any is a topology fault',
});

export const paymentsFoundStuck = new Counter({
  name: 'payments_found_stuck_total',
  help: 'Paying holds the reconciler found still paying past PAYMENT_STUCK_AFTER_SECONDS',
});

export const paymentsReconciled = new Counter({
  name: 'payments_reconciled_total',
  help: 'Paying holds the reconciler found stuck and drove on, by action (settled, charged_again); already_settled only tidied its index',
  labelNames: ['action'] as const,
});

export const liveMapSubscribers = new Gauge({
  name: 'live_map_subscribers',
  help: 'Clients following a live seat map (Server-Sent Events) on this API instance',
});

export const liveMapDropped = new Counter({
  name: 'live_map_dropped_total',
  help: 'Live seat map clients disconnected because they did not keep up (they reconnect with Last-Event-ID)',
});
