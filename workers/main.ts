/** Every worker kind in one process: what the worker container runs (scale it with copies). */
import { eventRelayWorker } from './event-relay/worker';
import { holdsWorker } from './holds/worker';
import { startFromCommandLine } from './runtime';

startFromCommandLine([holdsWorker, eventRelayWorker]);
