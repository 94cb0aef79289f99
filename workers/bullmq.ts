import { Worker, type Job, type Processor } from 'bullmq';
import type { Config } from '../shared/config';
import type { Logger } from '../shared/logger';
import { jobDuration, jobLateness } from '../shared/metrics';
import { bullConnection } from '../shared/queues';

/**
 * A BullMQ worker as every worker kind runs one: logged failures, job duration and lateness
 * (how long after it was due a job started: an overdue expiry shows here) per queue.
 */
export function startBullWorker<T>(
  config: Config,
  logger: Logger,
  queue: string,
  processor: Processor<T>,
  concurrency = 50,
): Worker<T> {
  const { connection, prefix, close } = bullConnection(config);
  const worker = new Worker<T>(queue, processor, {
    connection,
    prefix: prefix(queue),
    concurrency,
  });
  worker.on('closed', () => void close());
  worker.on('completed', (job: Job<T>) => observe(queue, job));
  worker.on('failed', (job, err) => {
    if (job) observe(queue, job);
    logger.error('job failed', {
      queue,
      jobId: job?.id,
      attempt: job?.attemptsMade,
      err,
    });
  });
  worker.on('error', (err) => logger.error('worker error', { queue, err: err.message }));
  return worker;
}

function observe(queue: string, job: Job) {
  if (!job.processedOn) return;
  if (job.finishedOn) jobDuration.observe({ queue }, (job.finishedOn - job.processedOn) / 1000);
  const due = job.timestamp + (job.delay ?? 0);
  jobLateness.observe({ queue }, Math.max(0, job.processedOn - due) / 1000);
}
