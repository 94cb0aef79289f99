import { createServer } from 'node:http';
import { loadConfigOrExit, type Config } from '../shared/config';
import { checkHealth, type HealthCheck } from '../shared/health';
import { refusalBody, routeNotFound } from '../shared/errors';
import { createLogger, type Logger } from '../shared/logger';
import { renderMetrics } from '../shared/metrics';
import { stopGracefullyOnSignals } from '../shared/shutdown';

export interface RunningWorker {
  /** Stops taking work, lets in-flight work finish (or hands it back), closes connections. */
  stop(): Promise<void>;
  healthChecks: HealthCheck[];
}

/** One kind of worker (hold cleanups, event relay, …): how to start it in a process. */
export interface WorkerKind {
  name: string;
  start(deps: { config: Config; logger: Logger }): Promise<RunningWorker>;
}

/**
 * The process around one or more worker kinds: configuration, logging, a small HTTP server on
 * METRICS_HOST:METRICS_PORT for health probes and metrics, and a graceful stop on SIGINT/SIGTERM. A kind knows nothing
 * of the process it runs in, so it can run alone (workers/<kind>/main.ts) or with the others
 * (workers/main.ts).
 */
export async function runWorkerProcess(kinds: WorkerKind[]): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({
    level: config.logLevel,
    service: `worker:${kinds.map((k) => k.name).join('+')}`,
  });
  const running = await Promise.all(
    kinds.map((kind) => kind.start({ config, logger: logger.child({ worker: kind.name }) })),
  );
  const checks = running.flatMap((r) => r.healthChecks);

  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.url === '/health/live') return answer(200, { status: 'ok' });
    if (req.url === '/metrics') {
      void renderMetrics().then(({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType }).end(body);
      });
      return;
    }
    if (req.url === '/health/ready') {
      void checkHealth(checks).then((report) =>
        answer(report.status === 'ready' ? 200 : 503, report),
      );
      return;
    }
    answer(404, refusalBody(routeNotFound(req.method ?? 'GET', req.url ?? '/')));
  });
  // Unauthenticated, so loopback by default: the container's own health check reaches it there,
  // and a scraper only where an operator opens it (METRICS_HOST) on a private network.
  server.listen(config.metricsPort, config.metricsHost, () =>
    logger.info('worker started', { host: config.metricsHost, port: config.metricsPort }),
  );

  stopGracefullyOnSignals(logger, async () => {
    server.close();
    await Promise.all(running.map((r) => r.stop()));
  });
}

export function startFromCommandLine(kinds: WorkerKind[]): void {
  runWorkerProcess(kinds).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
