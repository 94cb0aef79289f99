import { startFromCommandLine } from '../runtime';
import { finaliserWorker } from './worker';

startFromCommandLine([finaliserWorker]);
