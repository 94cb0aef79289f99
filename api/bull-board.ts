import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { CheckoutQueues } from '../shared/queues';

/** Bull Board's own Express adapter, serving the dashboard of every queue at /admin/queues. */
export function bullBoard(queues: CheckoutQueues): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({
    queues: queues.all().map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
  });
  return serverAdapter.getRouter() as Router;
}
