import type { Job, Processor } from 'bullmq';
import { runWithLogContext, type Logger } from '../../shared/logger';
import { paymentOutcomes } from '../../shared/metrics';
import { chargePayment, type ChargeDependencies } from '../../shared/payments/charge-payment';
import type { PaymentJob } from '../../shared/queues';

/**
 * Charges one paying hold. An infrastructure error (Redis, Postgres, RabbitMQ) throws, and BullMQ
 * retries the job with exponential backoff; the charge itself is idempotent by order id.
 */
export function paymentProcessor(deps: ChargeDependencies, logger: Logger): Processor<PaymentJob> {
  return (job: Job<PaymentJob>) =>
    runWithLogContext(
      { jobId: job.id ?? '', queue: job.queueName, orderId: job.data.orderId },
      async () => {
        const outcome = await chargePayment(deps, job.data);
        if (outcome !== 'nothing-to-do') paymentOutcomes.inc({ outcome });
        logger.info('payment charged', { outcome, attempt: job.attemptsMade + 1 });
        return outcome;
      },
    );
}
