import { startFromCommandLine } from '../runtime';
import { paymentsWorker } from './worker';

startFromCommandLine([paymentsWorker]);
