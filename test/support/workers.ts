import type { Config } from '../../shared/config';
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
