import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { CheckoutQueues } from '../shared/queues';

/**
 * Bull Board's own Express adapter, serving the dashboard of every queue at /admin/queues.
 * Read-only, the board still shows every job but refuses to add, retry, promote, clean or
 * remove one (405): in production a leaked admin password must not reach the payment jobs.
 */
export function bullBoard(queues: CheckoutQueues, options: { readOnly: boolean }): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({
    queues: queues
      .all()
      .map((queue) => new BullMQAdapter(queue, { readOnlyMode: options.readOnly })),
    serverAdapter,
  });
  return serverAdapter.getRouter() as Router;
}
