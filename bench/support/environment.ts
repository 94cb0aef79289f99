/**
 * What every part of the bench shares: its settings (BENCH_* variables), the secrets of this run,
 * the ports and the environment its processes run with. Production mode refuses shipped or weak
 * secrets, so each run makes its own.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';

export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
export const DURATION = Number(process.env.BENCH_DURATION ?? 10);
export const CHECKOUTS = Number(process.env.BENCH_CHECKOUTS ?? 2000);
export const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 2000);
/** Buyers with access tokens (a sample signs in through the API, see giveEveryoneATokens). */
export const USERS = Number(process.env.BENCH_USERS ?? 1000);
const ALL_SCENARIOS = ['timed', 'races', 'floods', 'live-map', 'checkout'] as const;
export type ScenarioGroup = (typeof ALL_SCENARIOS)[number];
/**
 * Which scenarios run (BENCH_SCENARIOS, comma-separated): `timed` (baseline, hold, best available,
 * seat map), `races` (the 10 000-request race and the fresh buyers' races), `floods`, `live-map`,
 * `checkout`. All by default; fewer for a quick look while profiling.
 */
export const SCENARIOS = new Set<ScenarioGroup>(
  (process.env.BENCH_SCENARIOS ?? ALL_SCENARIOS.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter((name): name is ScenarioGroup => {
      if ((ALL_SCENARIOS as readonly string[]).includes(name)) return true;
      throw new Error(`BENCH_SCENARIOS: unknown "${name}" (known: ${ALL_SCENARIOS.join(', ')})`);
    }),
);
export const ROOT = path.join(__dirname, '../..');
export const ADMIN_TOKEN = randomBytes(24).toString('base64url');
export const JWT_SECRET = randomBytes(32).toString('base64url');
export const METRICS_TOKEN = randomBytes(24).toString('base64url');
export const RABBIT_USER = 'cine_bench';
export const RABBIT_PASSWORD = randomBytes(18).toString('base64url');
/** Every bench buyer signs in with this password (hashed once, see prepareData). */
export const BUYER_PASSWORD = randomBytes(12).toString('base64url');
export const VHOST = 'cine_bench';
export const PORTS = { baseline: 3100, api: 3101, api2: 3102, guarded: 3103 };

export const benchEnv: Record<string, string> = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  DB_NAME: 'cine_bench',
  REDIS_DB: '15',
  RABBITMQ_URL: `amqp://${RABBIT_USER}:${RABBIT_PASSWORD}@127.0.0.1:5672/${VHOST}`,
  ADMIN_TOKEN,
  JWT_SECRET,
  RATE_LIMIT_PER_USER: '0',
  RATE_LIMIT_PER_IP: '0',
  AUTH_RATE_LIMIT_PER_IP: '0',
  AUTH_RATE_LIMIT_PER_EMAIL: '0',
  // The live-map scenario's thousands of subscribers all come from this one address.
  LIVE_MAP_MAX_STREAMS_PER_ADDRESS: '100000',
  METRICS_TOKEN,
  MAX_SEATS_PER_HOLD: '50',
  ACCESS_TOKEN_TTL_SECONDS: '7200',
};
export const config = loadConfig({ ...process.env, ...benchEnv });
export const logger = createLogger({ level: 'warn', service: 'bench' });
