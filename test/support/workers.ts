import type { Config } from '../../shared/config';
import { eventRelayWorker } from '../../workers/event-relay/worker';
import { finaliserWorker } from '../../workers/finaliser/worker';
import { holdsWorker } from '../../workers/holds/worker';
import { notifierWorker } from '../../workers/notifier/worker';
import { paymentsWorker } from '../../workers/payments/worker';
import type { RunningWorker, WorkerKind } from '../../workers/runtime';
import { silentLogger } from './database';

/** Starts worker kinds in this process, wired as workers/runtime.ts wires them. */
export async function startWorkers(config: Config, kinds: WorkerKind[]) {
  const running: RunningWorker[] = await Promise.all(
    kinds.map((kind) => kind.start({ config, logger: silentLogger })),
  );
  return {
    stop: async () => {
      await Promise.all(running.map((r) => r.stop()));
    },
  };
}

/** Every worker kind `npm start` runs: the whole back end behind the API. */
export const EVERY_WORKER: WorkerKind[] = [
  holdsWorker,
  paymentsWorker,
  finaliserWorker,
  notifierWorker,
  eventRelayWorker,
];
