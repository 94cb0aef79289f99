import Joi from 'joi';
import type { Delivery, Rejection } from '../../shared/consumer';
import type { Orm } from '../../shared/db/orm';
import type { EventEnvelope } from '../../shared/events';
import type { HoldContext } from '../../shared/holds/hold-context';
import type { Logger } from '../../shared/logger';
import { approvalMismatch } from '../../shared/orders/approval-check';
import type { PaymentApproved } from '../../shared/orders/contracts';
import { finalisePayments } from '../../shared/payments/finalise-payments';
import { settleSale } from '../../shared/payments/settle-sale';
import { paymentOutcomes, paymentToPaid } from '../../shared/metrics';

const id = Joi.string().guid().required();
const paymentApprovedSchema = Joi.object<PaymentApproved>({
  orderId: id,
  holdId: id,
  sessionId: id,
  userId: id,
  seatIds: Joi.array().items(Joi.string().guid()).min(1).required(),
  totalCents: Joi.number().integer().min(0).required(),
  currency: Joi.string().length(3).required(),
  method: Joi.string().required(),
  cardLast4: Joi.string().length(4).allow(null).required(),
  gatewayReference: Joi.string().required(),
  requestedAt: Joi.number().integer().required(),
});

/** A message that does not carry a well-formed approved payment is poison: straight to the DLQ. */
export function parsePaymentApproved(envelope: EventEnvelope): PaymentApproved {
  const { value, error } = paymentApprovedSchema.validate(envelope.data);
  if (error || typeof envelope.id !== 'string')
    throw new Error(`invalid payment.approved: ${error?.message}`);
  return value;
}

/**
 * One batch: refuse the approvals that match no paying hold (→ DLQ, nothing written), commit
 * every other sale in Postgres, then settle each in Redis, then (caller) ack.
 */
export function finaliseBatch(orm: Orm, ctx: HoldContext, logger: Logger) {
  return async (batch: Delivery<PaymentApproved>[]): Promise<Rejection<PaymentApproved>[]> => {
    const rejections: Rejection<PaymentApproved>[] = [];
    const accepted: Delivery<PaymentApproved>[] = [];
    const mismatches = await Promise.all(batch.map((d) => approvalMismatch(ctx, d.body)));
    for (const [i, delivery] of batch.entries()) {
      const reason = mismatches[i];
      if (reason) rejections.push({ delivery, reason: `approval refused: ${reason}` });
      else accepted.push(delivery);
    }
    for (const { delivery, reason } of rejections) {
      logger.warn('payment.approved refused', { orderId: delivery.body.orderId, reason });
    }
    if (accepted.length === 0) return rejections;

    const outcomes = await finalisePayments(
      orm,
      accepted.map((d) => ({ eventId: d.envelope.id, payment: d.body })),
      logger,
    );
    await Promise.all(
      accepted.map(async ({ body }) => {
        const outcome = outcomes.get(body.orderId);
        if (outcome) await settleSale(ctx, body, outcome);
      }),
    );
    const now = Date.now();
    for (const { body } of accepted) {
      const outcome = outcomes.get(body.orderId);
      if (!outcome) continue;
      paymentOutcomes.inc({ outcome });
      if (outcome === 'paid') paymentToPaid.observe((now - body.requestedAt) / 1000);
    }
    logger.info('payments finalised', { count: accepted.length });
    return rejections;
  };
}
