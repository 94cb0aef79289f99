import type { Logger } from './logger';

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits: 0 when it finished, 1 when it
 * failed or outlasted `deadlineMs` (an orchestrator would kill us soon anyway). A second signal
 * while stopping is ignored, so an impatient Ctrl-C cannot cut a drain in half.
 */
export function stopGracefullyOnSignals(
  logger: Logger,
  stop: () => Promise<void>,
  deadlineMs = 25_000,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed, exiting', { deadlineMs });
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
