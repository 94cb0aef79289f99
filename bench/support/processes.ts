/** The processes the bench measures: started from `dist/` with the bench's environment. */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import path from 'node:path';
import { benchEnv, ROOT } from './environment';

export const children = new Set<ChildProcess>();

/**
 * BENCH_CPU_PROF=<dir>: every measured process writes a V8 CPU profile there when it stops
 * (`--cpu-prof`; open it in Chrome DevTools or speedscope), to see where a scenario's CPU goes.
 */
const profiling = process.env.BENCH_CPU_PROF
  ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`]
  : [];

export function startProcess(script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [...profiling, path.join(ROOT, script)], {
    env: { ...process.env, ...benchEnv, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export async function stopProcesses(list: ChildProcess[]): Promise<void> {
  await Promise.all(
    list.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

export async function waitUntilReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready`);
}

export async function startApi(
  port: number,
  env: Record<string, string> = {},
): Promise<ChildProcess> {
  const child = startProcess('dist/api/main.js', { PORT: String(port), ...env });
  await waitUntilReady(`http://127.0.0.1:${port}/health/ready`);
  return child;
}

export const WORKER_KINDS = ['holds', 'payments', 'finaliser', 'notifier', 'event-relay'];
export let nextMetricsPort = 9400;
export function startWorkers(copies: number) {
  const processes: ChildProcess[] = [];
  const metricsPorts: number[] = [];
  const roles = new Map<ChildProcess, string>();
  for (let copy = 0; copy < copies; copy++) {
    for (const kind of WORKER_KINDS) {
      const port = nextMetricsPort++;
      metricsPorts.push(port);
      const child = startProcess(`dist/workers/${kind}/main.js`, { METRICS_PORT: String(port) });
      processes.push(child);
      roles.set(child, kind);
    }
  }
  return { processes, metricsPorts, roles };
}

export function rabbitmqctl(...args: string[]) {
  try {
    execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'ignore' });
  } catch {
    // delete_vhost of a vhost that is not there
  }
}
