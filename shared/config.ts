import { isIP } from 'node:net';
import Joi from 'joi';

/**
 * Every setting the processes read, validated once at start. A bad value stops the process
 * with a message naming the variable (see {@link ConfigError}), so a typo in production fails
 * loudly at boot instead of at the first request that needs it.
 */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  db: { host: string; port: number; user: string; password: string; name: string };
  /**
   * `clusterNodes` set (REDIS_CLUSTER_NODES): every client is a Redis Cluster client seeded with
   * those nodes, and host, port and db are unused (a cluster has db 0 only).
   */
  redis: { host: string; port: number; db: number; clusterNodes?: RedisNode[] };
  rabbitmqUrl: string;
  holds: { ttlSeconds: number; confirmedTtlSeconds: number; maxSeatsPerHold: number };
  rateLimit: { perUser: number; perIp: number; windowSeconds: number };
  /** Sign-in, refresh and sign-up: limits per client address and per email (0 is off). */
  authRateLimit: { perIp: number; perEmail: number; windowSeconds: number };
  /**
   * Password hashing (sign-in, sign-up): at most `concurrency` hashes run at once and at most
   * `maxWaiting` wait for a turn; past that a request is refused at once with 503 BUSY.
   */
  passwordHashing: { concurrency: number; maxWaiting: number };
  adminToken: string;
  /** The scraper's secret for the API's /metrics (not ADMIN_TOKEN); unset: /metrics refuses all. */
  metricsToken: string | null;
  /** Bull Board shows queues but cannot add, retry, promote or remove jobs. */
  bullBoardReadOnly: boolean;
  auth: {
    /** HS256 key of access tokens; also the root of the other server-side keys (idempotency). */
    jwtSecret: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    /** A refresh family ends this long after its sign-in, however often it is refreshed. */
    refreshFamilyMaxSeconds: number;
    /** The password the seeded demo users sign in with; none in production. */
    demoUserPassword: string | null;
  };
  /** Whether the seed's routes (identified by `usuario_id` alone) are mounted. */
  seedRoutes: boolean;
  /** Express's `trust proxy`: which proxies' X-Forwarded-For is believed (none: false). */
  trustProxy: boolean | number | string;
  catalogueCacheTtlSeconds: number;
  metricsPort: number;
  /** Where a worker serves /health and /metrics: loopback unless an operator opens it. */
  metricsHost: string;
  /** Live seat maps over Server-Sent Events (api/routes/seat-stream.ts). */
  liveMap: {
    heartbeatMs: number;
    maxBufferBytes: number;
    batchMs: number;
    /** Open streams one client address may hold at once (503 beyond). */
    maxStreamsPerAddress: number;
    /** Open streams one API process serves at once (503 beyond). */
    maxStreams: number;
  };
  /** The payment reconciler (shared/payments/reconcile-payments.ts). */
  paymentReconciler: { stuckAfterMs: number; everyMs: number };
}

export interface RedisNode {
  host: string;
  port: number;
}

const DEV_ADMIN_TOKEN = 'dev-admin-token-change-me';
const DEV_JWT_SECRET = 'dev-jwt-secret-change-me-0123456789abcdef';
const DEV_DEMO_PASSWORD = 'demo-password-123';

/**
 * Secret values written somewhere in this repository (defaults, examples, compose): a production
 * process refuses every one of them, whatever variable carries it.
 */
export const SHIPPED_SECRETS = [
  DEV_ADMIN_TOKEN,
  DEV_JWT_SECRET,
  DEV_DEMO_PASSWORD,
  'guest',
  'change-me',
  'change-me-in-production',
  'test-admin-token-0123456789',
];

/** What a secret must be in production: present, long enough, and not one we shipped. */
const productionSecret = (min: number) =>
  Joi.string()
    .min(min)
    .required()
    .invalid(...SHIPPED_SECRETS);

const PROXY_SUBNET_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
/** One entry of TRUST_PROXY as Express reads it: a named subnet, an address, or address/prefix. */
function isProxyName(item: string): boolean {
  if (PROXY_SUBNET_NAMES.has(item)) return true;
  const [address = '', prefix, ...rest] = item.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

function isHostPort(item: string): boolean {
  const match = /^([^\s:,]+):(\d{1,5})$/.exec(item);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65_535;
}

/** The password inside an amqp(s) URL, which production requires to be a real secret. */
const rabbitPassword = (url: string) => {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
};

const schema = Joi.object({
  NODE_ENV: Joi.string().valid('development', 'production', 'test').default('development'),
  PORT: Joi.number().port().default(3000),
  LOG_LEVEL: Joi.string().valid('debug', 'info', 'warn', 'error').default('info'),
  DB_HOST: Joi.string().hostname().default('localhost'),
  DB_PORT: Joi.number().port().default(5432),
  DB_USERNAME: Joi.string().default('postgres'),
  DB_PASSWORD: Joi.string().allow('').default(''),
  DB_NAME: Joi.string()
    .pattern(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('cine_starsoft')
    .messages({ 'string.pattern.base': '"DB_NAME" must be a lower-case SQL identifier' }),
  REDIS_HOST: Joi.string().hostname().default('localhost'),
  REDIS_PORT: Joi.number().port().default(6379),
  REDIS_DB: Joi.number().integer().min(0).max(15).default(0),
  REDIS_CLUSTER_NODES: Joi.string()
    .allow('')
    .custom((value: string, helpers) =>
      value === '' || value.split(',').every((item) => isHostPort(item.trim()))
        ? value
        : helpers.error('any.invalid'),
    )
    .messages({
      'any.invalid': '"REDIS_CLUSTER_NODES" must be a comma-separated list of host:port',
    }),
  RABBITMQ_URL: Joi.string()
    .uri({ scheme: ['amqp', 'amqps'] })
    .default('amqp://guest:guest@localhost:5672'),
  HOLD_TTL_SECONDS: Joi.number().integer().min(1).default(30),
  CONFIRMED_HOLD_TTL_SECONDS: Joi.number().integer().min(1).default(600),
  MAX_SEATS_PER_HOLD: Joi.number().integer().min(1).max(50).default(10),
  RATE_LIMIT_PER_USER: Joi.number().integer().min(0).default(20),
  RATE_LIMIT_PER_IP: Joi.number().integer().min(0).default(100),
  RATE_LIMIT_WINDOW_SECONDS: Joi.number().integer().min(1).default(10),
  AUTH_RATE_LIMIT_PER_IP: Joi.number().integer().min(0).default(60),
  AUTH_RATE_LIMIT_PER_EMAIL: Joi.number().integer().min(0).default(10),
  AUTH_RATE_LIMIT_WINDOW_SECONDS: Joi.number().integer().min(1).default(60),
  PASSWORD_HASH_CONCURRENCY: Joi.number().integer().min(1).max(64).default(2),
  PASSWORD_HASH_MAX_WAITING: Joi.number().integer().min(0).max(10_000).default(8),
  ADMIN_TOKEN: Joi.string()
    .min(16)
    .when('NODE_ENV', {
      is: 'production',
      then: productionSecret(24),
      otherwise: Joi.optional().default(DEV_ADMIN_TOKEN),
    }),
  JWT_SECRET: Joi.string()
    .min(32)
    .when('NODE_ENV', {
      is: 'production',
      then: productionSecret(32),
      otherwise: Joi.optional().default(DEV_JWT_SECRET),
    }),
  METRICS_TOKEN: Joi.string()
    .min(24)
    .invalid(...SHIPPED_SECRETS, Joi.ref('ADMIN_TOKEN'))
    .messages({
      'any.invalid': '"METRICS_TOKEN" must be its own secret, not ADMIN_TOKEN or a shipped value',
    }),
  BULL_BOARD_READ_ONLY: Joi.boolean().when('NODE_ENV', {
    is: 'production',
    then: Joi.optional().default(true),
    otherwise: Joi.optional().default(false),
  }),
  ACCESS_TOKEN_TTL_SECONDS: Joi.number().integer().min(1).max(86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: Joi.number()
    .integer()
    .min(60)
    .default(30 * 24 * 3600),
  REFRESH_FAMILY_MAX_SECONDS: Joi.number()
    .integer()
    .min(60)
    .default(30 * 24 * 3600),
  DEMO_USER_PASSWORD: Joi.string()
    .min(10)
    .max(128)
    .when('NODE_ENV', {
      is: 'production',
      then: Joi.forbidden().messages({
        'any.unknown': '"DEMO_USER_PASSWORD" is for development only; unset it in production',
      }),
      otherwise: Joi.optional().default(DEV_DEMO_PASSWORD),
    }),
  SEED_ROUTES: Joi.string()
    .valid('on', 'off')
    .when('NODE_ENV', { is: 'production', then: Joi.optional().default('off') })
    .default('on'),
  TRUST_PROXY: Joi.alternatives()
    .try(
      Joi.number().integer().min(0).max(10),
      Joi.string().custom((value: string, helpers) =>
        value.split(',').every((item) => isProxyName(item.trim()))
          ? value
          : helpers.error('any.invalid'),
      ),
    )
    .messages({
      'alternatives.match':
        '"TRUST_PROXY" must be a hop count, or a comma-separated list of addresses, subnets or loopback, linklocal, uniquelocal',
    }),
  CATALOGUE_CACHE_TTL_SECONDS: Joi.number().integer().min(0).default(5),
  METRICS_PORT: Joi.number().port().default(9100),
  METRICS_HOST: Joi.string()
    .custom((value: string, helpers) =>
      isIP(value) !== 0 || /^[a-z0-9.-]+$/i.test(value) ? value : helpers.error('any.invalid'),
    )
    .default('127.0.0.1')
    .messages({ 'any.invalid': '"METRICS_HOST" must be an address or a host name' }),
  LIVE_MAP_HEARTBEAT_SECONDS: Joi.number().min(0.1).max(300).default(15),
  LIVE_MAP_MAX_BUFFER_BYTES: Joi.number()
    .integer()
    .min(1024)
    .default(256 * 1024),
  LIVE_MAP_BATCH_MS: Joi.number().integer().min(0).max(1000).default(50),
  LIVE_MAP_MAX_STREAMS_PER_ADDRESS: Joi.number().integer().min(1).default(8),
  LIVE_MAP_MAX_STREAMS: Joi.number().integer().min(1).default(20_000),
  PAYMENT_STUCK_AFTER_SECONDS: Joi.number().min(1).default(20),
  PAYMENT_RECONCILE_EVERY_SECONDS: Joi.number().min(0.2).default(5),
}).unknown(true);

/** `host:port,host:port` (already validated) as the seed nodes of a cluster client. */
const redisNodes = (list: string): RedisNode[] =>
  list.split(',').map((item) => {
    const [host = '', port = ''] = item.trim().split(':');
    return { host, port: Number(port) };
  });

export class ConfigError extends Error {
  constructor(readonly details: string[]) {
    super(`Invalid configuration: ${details.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const { value: v, error } = schema.validate(env, { abortEarly: false, convert: true });
  const problems = error ? error.details.map((d) => d.message) : [];
  if (v.NODE_ENV === 'production') {
    const password = rabbitPassword(String(v.RABBITMQ_URL));
    if (password.length < 12 || SHIPPED_SECRETS.includes(password))
      problems.push(
        '"RABBITMQ_URL" must carry a RabbitMQ password of 12 characters or more that is not a shipped default',
      );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeEnv: v.NODE_ENV,
    port: v.PORT,
    logLevel: v.LOG_LEVEL,
    db: {
      host: v.DB_HOST,
      port: v.DB_PORT,
      user: v.DB_USERNAME,
      password: v.DB_PASSWORD,
      name: v.DB_NAME,
    },
    redis: {
      host: v.REDIS_HOST,
      port: v.REDIS_PORT,
      db: v.REDIS_DB,
      ...(v.REDIS_CLUSTER_NODES ? { clusterNodes: redisNodes(v.REDIS_CLUSTER_NODES) } : {}),
    },
    rabbitmqUrl: v.RABBITMQ_URL,
    holds: {
      ttlSeconds: v.HOLD_TTL_SECONDS,
      confirmedTtlSeconds: v.CONFIRMED_HOLD_TTL_SECONDS,
      maxSeatsPerHold: v.MAX_SEATS_PER_HOLD,
    },
    rateLimit: {
      perUser: v.RATE_LIMIT_PER_USER,
      perIp: v.RATE_LIMIT_PER_IP,
      windowSeconds: v.RATE_LIMIT_WINDOW_SECONDS,
    },
    authRateLimit: {
      perIp: v.AUTH_RATE_LIMIT_PER_IP,
      perEmail: v.AUTH_RATE_LIMIT_PER_EMAIL,
      windowSeconds: v.AUTH_RATE_LIMIT_WINDOW_SECONDS,
    },
    passwordHashing: {
      concurrency: v.PASSWORD_HASH_CONCURRENCY,
      maxWaiting: v.PASSWORD_HASH_MAX_WAITING,
    },
    adminToken: v.ADMIN_TOKEN,
    metricsToken: v.METRICS_TOKEN ?? null,
    bullBoardReadOnly: v.BULL_BOARD_READ_ONLY,
    auth: {
      jwtSecret: v.JWT_SECRET,
      accessTokenTtlSeconds: v.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: v.REFRESH_TOKEN_TTL_SECONDS,
      refreshFamilyMaxSeconds: v.REFRESH_FAMILY_MAX_SECONDS,
      demoUserPassword: v.DEMO_USER_PASSWORD ?? null,
    },
    seedRoutes: v.SEED_ROUTES === 'on',
    trustProxy: v.TRUST_PROXY ?? false,
    catalogueCacheTtlSeconds: v.CATALOGUE_CACHE_TTL_SECONDS,
    metricsPort: v.METRICS_PORT,
    metricsHost: v.METRICS_HOST,
    liveMap: {
      heartbeatMs: v.LIVE_MAP_HEARTBEAT_SECONDS * 1000,
      maxBufferBytes: v.LIVE_MAP_MAX_BUFFER_BYTES,
      batchMs: v.LIVE_MAP_BATCH_MS,
      maxStreamsPerAddress: v.LIVE_MAP_MAX_STREAMS_PER_ADDRESS,
      maxStreams: v.LIVE_MAP_MAX_STREAMS,
    },
    paymentReconciler: {
      stuckAfterMs: v.PAYMENT_STUCK_AFTER_SECONDS * 1000,
      everyMs: v.PAYMENT_RECONCILE_EVERY_SECONDS * 1000,
    },
  };
}

/** For process entry points: a bad configuration prints what is wrong and stops the process. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
