import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from './config';
import { createRedis } from './redis';

/**
 * The BullMQ queues and their job contracts. Producers (the API) and processors (workers/) both
 * import from here, so a job's name, id and data are defined once.
 */
export const QUEUES = {
  holdExpiry: 'hold-expiry',
  holdConfirmation: 'hold-confirmation',
  payments: 'payments',
  holdSweep: 'hold-sweep',
  paymentReconcile: 'payment-reconcile',
} as const;

/** Fired when a hold's clock for one stage runs out. */
export interface HoldExpiryJob {
  holdId: string;
  sessionId: string;
  stage: 'held' | 'confirmed';
  /** The expiry (epoch ms) this job was scheduled for: a later one makes the job stale. */
  expiresAt: number;
}

/** Enqueued on "confirm intent": moves the hold's cleanup from the 30 s job to the 10 min one. */
export interface HoldConfirmationJob {
  holdId: string;
  sessionId: string;
  expiresAt: number;
}

/** Charge the payment of a paying hold; everything else is read from the hold record. */
export interface PaymentJob {
  orderId: string;
  holdId: string;
  sessionId: string;
}

// Job ids are unique per hold and stage, so a retried enqueue is a no-op and each stage's
// cleanup can be found (and removed) by name. BullMQ refuses ':' in custom ids.
export const expiryJobId = (holdId: string, stage: HoldExpiryJob['stage']) =>
  `expire-${stage}-${holdId}`;
export const confirmationJobId = (holdId: string) => `confirm-${holdId}`;
export const paymentJobId = (orderId: string) => `pay-${orderId}`;

/** Finished jobs are kept for a while for Bull Board, then dropped so Redis does not grow. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * How BullMQ reaches a queue's keys. On one Redis: connection options and BullMQ's default
 * prefix, as always. On a cluster: a cluster client (BullMQ takes no cluster options, only a
 * client) and a prefix that is the queue's own hash tag, because BullMQ's scripts touch many
 * keys of a queue at once and a cluster runs a script only when all of them share a slot; one
 * tag per queue (not one for all) lets the queues spread over the masters. Producers and workers
 * of a queue must agree on the prefix, so both come from here. BullMQ leaves a client it was
 * given open: `close` quits it once every queue or worker using it is closed.
 */
export interface BullConnection {
  connection: ConnectionOptions;
  prefix(queue: string): string | undefined;
  close(): Promise<void>;
}

export function bullConnection(config: Config): BullConnection {
  if (!config.redis.clusterNodes) {
    const { host, port, db } = config.redis;
    return { connection: { host, port, db }, prefix: () => undefined, close: async () => {} };
  }
  const client = createRedis(config);
  return {
    connection: client,
    prefix: (queue) => `{bull:${queue}}`,
    close: async () => {
      await client.quit();
    },
  };
}

/**
 * A payment that was accepted must end as a sale or a refund whatever breaks meanwhile, so its
 * job keeps retrying (backoff capped by BullMQ's exponential growth: ~1 h in total) before it is
 * left failed for an operator.
 */
const PAYMENT_JOB_OPTIONS: JobsOptions = {
  ...DEFAULT_JOB_OPTIONS,
  attempts: 15,
  backoff: { type: 'exponential', delay: 250 },
};

export interface CheckoutQueues {
  expiry: Queue<HoldExpiryJob>;
  confirmation: Queue<HoldConfirmationJob>;
  payments: Queue<PaymentJob>;
  /** Repeats the overdue-hold sweep (shared/holds/sweep-overdue-holds.ts). */
  sweep: Queue;
  /** Repeats the payment reconciler (shared/payments/reconcile-payments.ts). */
  reconcile: Queue;
  all(): Queue[];
  close(): Promise<void>;
}

export function createCheckoutQueues(config: Config): CheckoutQueues {
  const { connection, prefix, close } = bullConnection(config);
  const queue = <T>(name: string, defaultJobOptions = DEFAULT_JOB_OPTIONS) =>
    new Queue<T>(name, { connection, prefix: prefix(name), defaultJobOptions });
  const queues = {
    expiry: queue<HoldExpiryJob>(QUEUES.holdExpiry),
    confirmation: queue<HoldConfirmationJob>(QUEUES.holdConfirmation),
    payments: queue<PaymentJob>(QUEUES.payments, PAYMENT_JOB_OPTIONS),
    sweep: queue(QUEUES.holdSweep),
    reconcile: queue(QUEUES.paymentReconcile),
  };
  const all = () => Object.values(queues) as Queue[];
  return {
    ...queues,
    all,
    close: async () => {
      await Promise.all(all().map((q) => q.close()));
      await close();
    },
  };
}

/**
 * Moves a hold's cleanup for a stage to a new expiry: used when a declined payment gives a hold
 * back its confirmed clock. The stage's job may still be waiting (then it is re-dated) or may
 * have run already, finding the hold paying (then it is replaced): either way one job remains,
 * due at the new expiry and carrying it, so the cleanup script accepts it.
 */
export async function rescheduleExpiry(queues: Pick<CheckoutQueues, 'expiry'>, job: HoldExpiryJob) {
  const existing = await queues.expiry.getJob(expiryJobId(job.holdId, job.stage));
  if (existing && (await existing.isDelayed())) {
    await existing.updateData(job);
    await existing.changeDelay(Math.max(job.expiresAt - Date.now(), 0));
    return;
  }
  await existing?.remove();
  await scheduleExpiry(queues, job);
}

export function scheduleExpiry(queues: Pick<CheckoutQueues, 'expiry'>, job: HoldExpiryJob) {
  return queues.expiry.add('expire', job, {
    jobId: expiryJobId(job.holdId, job.stage),
    delay: Math.max(job.expiresAt - Date.now(), 0),
  });
}
