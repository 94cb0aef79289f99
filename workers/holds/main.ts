import { startFromCommandLine } from '../runtime';
import { holdsWorker } from './worker';

startFromCommandLine([holdsWorker]);
