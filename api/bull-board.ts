import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { HoldQueues } from '../shared/queues';

/** Bull Board's own Express adapter, serving the dashboard of every queue at /admin/queues. */
export function bullBoard(queues: HoldQueues): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({
    queues: [new BullMQAdapter(queues.expiry), new BullMQAdapter(queues.confirmation)],
    serverAdapter,
  });
  return serverAdapter.getRouter() as Router;
}
