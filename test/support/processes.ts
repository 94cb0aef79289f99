import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import type { Config } from '../../shared/config';
import { waitFor } from './wait';

const REPO_ROOT = path.join(__dirname, '..', '..');

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The environment that makes a process use this test's database, Redis db and vhost. */
export function envOf(config: Config, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { db, redis } = config;
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'test',
    LOG_LEVEL: 'error',
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_USERNAME: db.user,
    DB_PASSWORD: db.password,
    DB_NAME: db.name,
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_DB: String(redis.db),
    ...(redis.clusterNodes && {
      REDIS_CLUSTER_NODES: redis.clusterNodes.map(({ host, port }) => `${host}:${port}`).join(','),
    }),
    RABBITMQ_URL: config.rabbitmqUrl,
    ADMIN_TOKEN: config.adminToken,
    JWT_SECRET: config.auth.jwtSecret,
    ...extra,
  };
}

export interface EntryProcess {
  child: ChildProcess;
  /** Resolves with the exit code (or the signal that killed it). */
  exited: Promise<number | NodeJS.Signals | null>;
  /** What it wrote so far: its JSON log lines go to stdout, crashes to stderr. */
  stdout: () => string;
  stderr: () => string;
  /** SIGKILLs it if still running; for cleanup. */
  kill: () => Promise<number | NodeJS.Signals | null>;
}

/**
 * Runs a process entry point (`api/main.ts`, `workers/<kind>/main.ts`) from the sources, as its
 * own OS process, and waits until `readyUrl` answers 200.
 */
export async function startEntryProcess(
  entry: string,
  env: NodeJS.ProcessEnv,
  readyUrl: string,
): Promise<EntryProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let alive = true;
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => {
      alive = false;
      resolve(signal ?? code);
    }),
  );
  const kill = async () => {
    if (alive) child.kill('SIGKILL');
    return exited;
  };
  try {
    await waitFor(
      async () => {
        if (!alive) throw new Error(`${entry} exited early: ${stderr}`);
        const res = await fetch(readyUrl).catch(() => undefined);
        return res?.status === 200;
      },
      { what: `${entry} ready`, timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (err) {
    await kill();
    throw err;
  }
  return { child, exited, stdout: () => stdout, stderr: () => stderr, kill };
}
