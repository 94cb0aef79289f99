import type { EntityManager } from '@mikro-orm/postgresql';
import { Order } from '../db/entities';
import { holdKey, EVENT_STREAMS_KEY, payingKey, sessionOfEventsKey } from '../holds/keys';
import { paymentsFoundStuck, paymentsReconciled } from '../metrics';
import { settleSale } from '../payments/settle-sale';
import { chargePayment, type ChargeDependencies } from './charge-payment';

/** Paying holds looked at per session and run; the next run takes the rest. */
const PER_SESSION = 200;

export type ReconcileAction =
  /** The sale (or its refund) is in Postgres; Redis is settled to match. */
  | 'settled'
  /** Charged again (idempotent at the gateway): the approval is republished, or the decline applied. */
  | 'charged_again'
  /** It had settled meanwhile: only the index entry was left. */
  | 'already_settled';

export interface ReconcileReport {
  /** Paying holds whose payment had not ended `stuckAfterMs` after it started. */
  found: number;
  fixed: Record<ReconcileAction, number>;
}

/**
 * The payment reconciler (§6 "nothing stays processing"): finds every hold that has been paying
 * for longer than `stuckAfterMs` (scripts keep a per-session index, `paying:{sid}`) and drives it
 * on from where it stopped, whatever stopped it: a payment job lost or finished without effect,
 * an approval that never reached the finaliser, a finaliser that committed but died before
 * settling Redis. It never re-adds a BullMQ job (a completed job with the same id would make that
 * a no-op); it does the step itself. Every step is idempotent, so it is safe while the normal path
 * is still running, and on any number of copies. Run by a BullMQ job scheduler in the payments
 * worker.
 */
export async function reconcilePayments(
  deps: ChargeDependencies,
  stuckAfterMs: number,
  now = Date.now(),
): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    found: 0,
    fixed: { settled: 0, charged_again: 0, already_settled: 0 },
  };
  for (const stream of await deps.ctx.redis.smembers(EVENT_STREAMS_KEY)) {
    const sessionId = sessionOfEventsKey(stream);
    const stuck = await deps.ctx.redis.zrangebyscore(
      payingKey(sessionId),
      '-inf',
      now - stuckAfterMs,
      'LIMIT',
      0,
      PER_SESSION,
    );
    for (const holdId of stuck) {
      const action = await driveOn(deps, sessionId, holdId);
      if (action !== 'already_settled') {
        report.found++;
        paymentsFoundStuck.inc();
      }
      report.fixed[action]++;
      paymentsReconciled.inc({ action });
    }
  }
  return report;
}

async function driveOn(
  deps: ChargeDependencies,
  sessionId: string,
  holdId: string,
): Promise<ReconcileAction> {
  const { ctx, orm } = deps;
  const [stage, orderId] = await ctx.redis.hmget(holdKey(sessionId, holdId), 'stage', 'orderId');
  if (stage !== 'paying' || !orderId) {
    await ctx.redis.zrem(payingKey(sessionId), holdId);
    return 'already_settled';
  }
  const order = await (orm.em.fork() as EntityManager).findOne(Order, orderId, {
    fields: ['status'],
  });
  if (order?.status === 'paid' || order?.status === 'failed') {
    await settleSale(ctx, { sessionId, holdId, orderId }, order.status);
    return 'settled';
  }
  // Not finalised (or declined but not yet settled): the charge is the step that decides.
  await chargePayment(deps, { orderId, holdId, sessionId });
  return 'charged_again';
}
