import { startFromCommandLine } from '../runtime';
import { eventRelayWorker } from './worker';

startFromCommandLine([eventRelayWorker]);
