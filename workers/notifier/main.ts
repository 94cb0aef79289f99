import { startFromCommandLine } from '../runtime';
import { notifierWorker } from './worker';

startFromCommandLine([notifierWorker]);
