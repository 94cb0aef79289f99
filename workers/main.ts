/** Every worker kind in one process: what the worker container runs (scale it with copies). */
import { eventRelayWorker } from './event-relay/worker';
import { finaliserWorker } from './finaliser/worker';
import { holdsWorker } from './holds/worker';
import { notifierWorker } from './notifier/worker';
import { paymentsWorker } from './payments/worker';
import { startFromCommandLine } from './runtime';

startFromCommandLine([
  holdsWorker,
  paymentsWorker,
  finaliserWorker,
  notifierWorker,
  eventRelayWorker,
]);
