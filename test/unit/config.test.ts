import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, SHIPPED_SECRETS, loadConfig, loadConfigOrExit } from '../../shared/config';

const ROOT = path.resolve(__dirname, '../..');
const PRODUCTION_TOKEN = 'a-long-production-secret-0123456789';

/** The development defaults, which a production process must refuse like any shipped value. */
const DEV_DEFAULTS = loadConfig({});

/**
 * A production environment whose every secret is real. Services point at port 1 (nothing listens
 * there), so a process that got past its configuration could never reach a real service.
 */
const PRODUCTION_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  ADMIN_TOKEN: PRODUCTION_TOKEN,
  JWT_SECRET: 'a-long-production-jwt-secret-0123456789abcdef',
  RABBITMQ_URL: 'amqp://cine:a-long-rabbitmq-password-0123@127.0.0.1:1',
  DB_HOST: '127.0.0.1',
  DB_PORT: '1',
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: '1',
};

/** PRODUCTION_ENV with some variables replaced (a value) or removed (undefined). */
function productionWith(changes: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = { ...PRODUCTION_ENV };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs loadConfig and returns the ConfigError it throws (fails the test if it does not throw). */
function configErrorFor(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected loadConfig(${JSON.stringify(env)}) to throw a ConfigError`);
}

/** Expects the configuration to be refused, every problem reported naming `name`. */
function expectRefusedNaming(env: Record<string, string>, name: string): void {
  const error = configErrorFor(env);
  expect(error.message).toContain(name);
  expect(error.details.length).toBeGreaterThan(0);
  for (const detail of error.details) expect(detail).toContain(name);
}

describe('loadConfig', () => {
  describe('when nothing is set', () => {
    const config = loadConfig({});

    it('then every setting has the default of §3, pointing at localhost', () => {
      expect(config).toEqual({
        nodeEnv: 'development',
        port: 3000,
        logLevel: 'info',
        db: {
          host: 'localhost',
          port: 5432,
          user: 'postgres',
          password: '',
          name: 'cine_starsoft',
        },
        redis: { host: 'localhost', port: 6379, db: 0 },
        rabbitmqUrl: 'amqp://guest:guest@localhost:5672',
        holds: { ttlSeconds: 30, confirmedTtlSeconds: 600, maxSeatsPerHold: 10 },
        rateLimit: { perUser: 20, perIp: 100, windowSeconds: 10 },
        authRateLimit: { perIp: 60, perEmail: 10, windowSeconds: 60 },
        passwordHashing: { concurrency: 2, maxWaiting: 8 },
        adminToken: expect.any(String),
        metricsToken: null,
        bullBoardReadOnly: false,
        auth: {
          jwtSecret: expect.any(String),
          accessTokenTtlSeconds: 900,
          refreshTokenTtlSeconds: 30 * 24 * 3600,
          refreshFamilyMaxSeconds: 30 * 24 * 3600,
          demoUserPassword: expect.any(String),
        },
        seedRoutes: true,
        trustProxy: false,
        catalogueCacheTtlSeconds: 5,
        metricsPort: 9100,
        metricsHost: '127.0.0.1',
        paymentReconciler: { stuckAfterMs: 20_000, everyMs: 5_000 },
        liveMap: {
          heartbeatMs: 15_000,
          maxBufferBytes: 262_144,
          batchMs: 50,
          maxStreamsPerAddress: 8,
          maxStreams: 20_000,
        },
      });
    });

    it('then outside production a development admin token, JWT secret and demo password are provided', () => {
      expect(config.adminToken.length).toBeGreaterThanOrEqual(16);
      expect(config.auth.jwtSecret.length).toBeGreaterThanOrEqual(32);
      expect(config.auth.demoUserPassword?.length).toBeGreaterThanOrEqual(10);
    });

    it('then those development defaults are among the shipped secrets production refuses', () => {
      expect(SHIPPED_SECRETS).toEqual(
        expect.arrayContaining([
          config.adminToken,
          config.auth.jwtSecret,
          config.auth.demoUserPassword,
        ]),
      );
    });
  });

  it('when variables are set, then they override the defaults and numbers are converted', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '8080',
      LOG_LEVEL: 'debug',
      DB_HOST: 'db.internal',
      DB_PORT: '6543',
      DB_USERNAME: 'cine',
      DB_PASSWORD: 's3cret',
      DB_NAME: 'cine_other',
      REDIS_HOST: 'redis',
      REDIS_PORT: '6380',
      REDIS_DB: '7',
      RABBITMQ_URL: 'amqps://u:p@mq.example.com:5671/vhost',
      HOLD_TTL_SECONDS: '45',
      CONFIRMED_HOLD_TTL_SECONDS: '900',
      MAX_SEATS_PER_HOLD: '4',
      RATE_LIMIT_PER_USER: '5',
      RATE_LIMIT_PER_IP: '50',
      RATE_LIMIT_WINDOW_SECONDS: '60',
      AUTH_RATE_LIMIT_PER_IP: '30',
      AUTH_RATE_LIMIT_PER_EMAIL: '3',
      AUTH_RATE_LIMIT_WINDOW_SECONDS: '120',
      PASSWORD_HASH_CONCURRENCY: '4',
      PASSWORD_HASH_MAX_WAITING: '0',
      ADMIN_TOKEN: 'an-admin-token-for-tests',
      METRICS_TOKEN: 'a-scraper-token-for-tests-0123',
      BULL_BOARD_READ_ONLY: 'true',
      JWT_SECRET: 'a-jwt-secret-for-tests-0123456789abcdef',
      ACCESS_TOKEN_TTL_SECONDS: '300',
      REFRESH_TOKEN_TTL_SECONDS: '3600',
      REFRESH_FAMILY_MAX_SECONDS: '86400',
      DEMO_USER_PASSWORD: 'another-demo-password',
      SEED_ROUTES: 'off',
      TRUST_PROXY: '2',
      CATALOGUE_CACHE_TTL_SECONDS: '0',
      METRICS_PORT: '9200',
      METRICS_HOST: '0.0.0.0',
      LIVE_MAP_MAX_STREAMS_PER_ADDRESS: '2',
      LIVE_MAP_MAX_STREAMS: '100',
      PAYMENT_STUCK_AFTER_SECONDS: '30',
      PAYMENT_RECONCILE_EVERY_SECONDS: '0.5',
    });

    expect(config).toEqual({
      nodeEnv: 'test',
      port: 8080,
      logLevel: 'debug',
      db: { host: 'db.internal', port: 6543, user: 'cine', password: 's3cret', name: 'cine_other' },
      redis: { host: 'redis', port: 6380, db: 7 },
      rabbitmqUrl: 'amqps://u:p@mq.example.com:5671/vhost',
      holds: { ttlSeconds: 45, confirmedTtlSeconds: 900, maxSeatsPerHold: 4 },
      rateLimit: { perUser: 5, perIp: 50, windowSeconds: 60 },
      authRateLimit: { perIp: 30, perEmail: 3, windowSeconds: 120 },
      passwordHashing: { concurrency: 4, maxWaiting: 0 },
      adminToken: 'an-admin-token-for-tests',
      metricsToken: 'a-scraper-token-for-tests-0123',
      bullBoardReadOnly: true,
      auth: {
        jwtSecret: 'a-jwt-secret-for-tests-0123456789abcdef',
        accessTokenTtlSeconds: 300,
        refreshTokenTtlSeconds: 3600,
        refreshFamilyMaxSeconds: 86_400,
        demoUserPassword: 'another-demo-password',
      },
      seedRoutes: false,
      trustProxy: 2,
      catalogueCacheTtlSeconds: 0,
      metricsPort: 9200,
      metricsHost: '0.0.0.0',
      paymentReconciler: { stuckAfterMs: 30_000, everyMs: 500 },
      liveMap: {
        heartbeatMs: 15_000,
        maxBufferBytes: 262_144,
        batchMs: 50,
        maxStreamsPerAddress: 2,
        maxStreams: 100,
      },
    });
  });

  it('when unrelated variables are present (as in process.env), then they are ignored', () => {
    expect(() => loadConfig({ PATH: '/usr/bin', HOME: '/root' })).not.toThrow();
  });

  it('when the rate limits are 0, then they are accepted (0 turns a limit off)', () => {
    const config = loadConfig({ RATE_LIMIT_PER_USER: '0', RATE_LIMIT_PER_IP: '0' });
    expect(config.rateLimit).toMatchObject({ perUser: 0, perIp: 0 });
  });

  it.each([
    ['DB_PORT', 'abc'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['RABBITMQ_URL', 'http://x'],
    ['REDIS_DB', '16'],
    ['HOLD_TTL_SECONDS', '0'],
    ['MAX_SEATS_PER_HOLD', '2.5'],
    ['RATE_LIMIT_PER_USER', '-1'],
    ['RATE_LIMIT_WINDOW_SECONDS', '0'],
    ['DB_NAME', 'Robert"); drop table'],
    ['PAYMENT_STUCK_AFTER_SECONDS', '0'],
    ['PAYMENT_RECONCILE_EVERY_SECONDS', 'often'],
    ['ADMIN_TOKEN', 'short'],
    ['JWT_SECRET', 'shorter-than-32-characters'],
    ['ACCESS_TOKEN_TTL_SECONDS', '0'],
    ['ACCESS_TOKEN_TTL_SECONDS', '86401'],
    ['REFRESH_TOKEN_TTL_SECONDS', '59'],
    ['DEMO_USER_PASSWORD', 'short'],
    ['SEED_ROUTES', 'yes'],
    ['TRUST_PROXY', 'not a proxy!'],
    ['REDIS_CLUSTER_NODES', 'redis-1'],
    ['REDIS_CLUSTER_NODES', 'redis-1:7000,redis-2:70000'],
    ['AUTH_RATE_LIMIT_PER_EMAIL', '-1'],
    ['PASSWORD_HASH_CONCURRENCY', '0'],
    ['REFRESH_FAMILY_MAX_SECONDS', '10'],
    ['METRICS_TOKEN', 'too-short'],
    ['METRICS_TOKEN', 'dev-admin-token-change-me'],
    ['METRICS_HOST', 'not a host!'],
    ['LIVE_MAP_MAX_STREAMS_PER_ADDRESS', '0'],
    ['BULL_BOARD_READ_ONLY', 'maybe'],
  ])('when %s=%j, then a ConfigError names the variable', (name, value) => {
    const error = configErrorFor({ [name]: value });
    expect(error.message).toContain(name);
    expect(error.details).toHaveLength(1);
    expect(error.details[0]).toContain(name);
  });

  it('when several values are bad, then every one of them is reported at once', () => {
    const error = configErrorFor({ DB_PORT: 'abc', LOG_LEVEL: 'loud', RABBITMQ_URL: 'http://x' });
    expect(error.details).toHaveLength(3);
    for (const name of ['DB_PORT', 'LOG_LEVEL', 'RABBITMQ_URL'])
      expect(error.message).toContain(name);
  });

  describe('REDIS_CLUSTER_NODES', () => {
    it('when it is unset or empty, then there is no cluster: the one Redis of REDIS_HOST is used', () => {
      expect(loadConfig({}).redis.clusterNodes).toBeUndefined();
      expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).redis.clusterNodes).toBeUndefined();
    });

    it('when it lists host:port pairs, then they are the seed nodes of the cluster', () => {
      expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000, 10.0.0.2:7001' }).redis).toEqual(
        expect.objectContaining({
          clusterNodes: [
            { host: 'redis-1', port: 7000 },
            { host: '10.0.0.2', port: 7001 },
          ],
        }),
      );
    });
  });

  describe('SEED_ROUTES', () => {
    it('when it is unset in development or test, then the seed routes are on', () => {
      expect(loadConfig({ NODE_ENV: 'development' }).seedRoutes).toBe(true);
      expect(loadConfig({ NODE_ENV: 'test' }).seedRoutes).toBe(true);
    });

    it('when it is unset in production, then the seed routes are off', () => {
      expect(loadConfig(productionWith({})).seedRoutes).toBe(false);
    });

    it('when it is set, then it wins in either environment', () => {
      expect(loadConfig({ NODE_ENV: 'development', SEED_ROUTES: 'off' }).seedRoutes).toBe(false);
      expect(loadConfig(productionWith({ SEED_ROUTES: 'on' })).seedRoutes).toBe(true);
      expect(loadConfig(productionWith({ SEED_ROUTES: 'off' })).seedRoutes).toBe(false);
    });
  });

  describe('TRUST_PROXY', () => {
    it('when it is unset, then no proxy is trusted', () => {
      expect(loadConfig({}).trustProxy).toBe(false);
      expect(loadConfig(productionWith({})).trustProxy).toBe(false);
    });

    it.each([
      ['0', 0],
      ['1', 1],
      ['3', 3],
    ])('when it is the hop count %j, then it is a number', (value, expected) => {
      expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toBe(expected);
    });

    it.each([
      'loopback',
      'loopback, linklocal, uniquelocal',
      '10.0.0.1',
      '10.0.0.0/8, 172.16.0.0/12,192.168.1.7',
      'fd00::/8, ::1',
    ])('when it is the list %j, then it is passed on as given', (value) => {
      expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toBe(value);
    });

    it.each(['not a proxy!', '*', '-1', '10.0.0.1; rm -rf /', '10.0.0.1,,10.0.0.2', ''])(
      'when it is %j, then a ConfigError names TRUST_PROXY',
      (value) => {
        expectRefusedNaming({ TRUST_PROXY: value }, 'TRUST_PROXY');
      },
    );
  });

  describe('in production', () => {
    it('when every secret is real, then the configuration loads with production defaults', () => {
      const config = loadConfig(PRODUCTION_ENV);
      expect(config).toMatchObject({
        nodeEnv: 'production',
        adminToken: PRODUCTION_TOKEN,
        rabbitmqUrl: PRODUCTION_ENV.RABBITMQ_URL,
        auth: { jwtSecret: PRODUCTION_ENV.JWT_SECRET, demoUserPassword: null },
        seedRoutes: false,
        trustProxy: false,
        bullBoardReadOnly: true,
        metricsHost: '127.0.0.1',
      });
    });

    it('when METRICS_TOKEN is the admin token, then it is refused: a scraper is not an operator', () => {
      expectRefusedNaming(productionWith({ METRICS_TOKEN: PRODUCTION_TOKEN }), 'METRICS_TOKEN');
    });

    it('when nothing is set, then every missing secret is reported at once', () => {
      const error = configErrorFor({ NODE_ENV: 'production' });
      for (const name of ['ADMIN_TOKEN', 'JWT_SECRET', 'RABBITMQ_URL'])
        expect(error.message).toContain(name);
    });

    describe.each([
      ['ADMIN_TOKEN', 24, DEV_DEFAULTS.adminToken],
      ['JWT_SECRET', 32, DEV_DEFAULTS.auth.jwtSecret],
    ])('%s', (name, minLength, devDefault) => {
      it('when it is missing, then the configuration is refused naming it', () => {
        expectRefusedNaming(productionWith({ [name]: undefined }), name);
      });

      it('when it is empty, then the configuration is refused naming it', () => {
        expectRefusedNaming(productionWith({ [name]: '' }), name);
      });

      it(`when it is shorter than ${minLength} characters, then the configuration is refused naming it`, () => {
        expectRefusedNaming(productionWith({ [name]: 'x'.repeat(minLength - 1) }), name);
      });

      it(`when it is exactly ${minLength} characters, then it is accepted`, () => {
        expect(() => loadConfig(productionWith({ [name]: 'x'.repeat(minLength) }))).not.toThrow();
      });

      it('when it is the development default, then the configuration is refused naming it', () => {
        // Long enough: refused because it is shipped, not because it is short.
        expect(devDefault.length).toBeGreaterThanOrEqual(minLength);
        expectRefusedNaming(productionWith({ [name]: devDefault }), name);
      });

      it.each(SHIPPED_SECRETS)(
        'when it is the shipped value %j, then the configuration is refused naming it',
        (shipped) => {
          expectRefusedNaming(productionWith({ [name]: shipped }), name);
        },
      );
    });

    it.each([
      ['the guest user', 'amqp://guest:guest@rabbitmq:5672'],
      ['a password of 11 characters', 'amqp://cine:elevenchars@rabbitmq:5672'],
      ['a user but no password', 'amqp://cine@rabbitmq:5672'],
      ['an empty password', 'amqp://cine:@rabbitmq:5672'],
      ['no credentials at all', 'amqp://rabbitmq:5672'],
      ['a long but shipped password', `amqp://cine:${DEV_DEFAULTS.adminToken}@rabbitmq:5672`],
      ['a shipped password, percent-encoded', 'amqps://cine:change%2Dme-in-production@mq:5671'],
    ])('when RABBITMQ_URL carries %s, then the configuration is refused naming it', (_, url) => {
      const error = configErrorFor(productionWith({ RABBITMQ_URL: url }));
      expect(error.details).toHaveLength(1);
      expect(error.details[0]).toContain('RABBITMQ_URL');
    });

    it('when the RabbitMQ password has exactly 12 characters, then it is accepted', () => {
      const url = 'amqp://cine:twelve-chars@rabbitmq:5672';
      expect(loadConfig(productionWith({ RABBITMQ_URL: url })).rabbitmqUrl).toBe(url);
    });

    it('when DEMO_USER_PASSWORD is set, then the configuration is refused naming it', () => {
      expectRefusedNaming(
        productionWith({ DEMO_USER_PASSWORD: 'a-perfectly-long-demo-password' }),
        'DEMO_USER_PASSWORD',
      );
    });

    it('when a secret is refused, then the message names the variable but never its value', () => {
      const secrets = {
        ADMIN_TOKEN: 'too-short-admin',
        JWT_SECRET: 'too-short-jwt-secret',
        RABBITMQ_URL: 'amqp://cine:too-short@rabbitmq:5672',
        DEMO_USER_PASSWORD: 'demo-password-for-production',
      };
      const error = configErrorFor(productionWith(secrets));
      for (const [name, value] of Object.entries(secrets)) {
        expect(error.message).toContain(name);
        expect(error.message).not.toContain(value);
      }
      expect(error.message).not.toContain('too-short@');
    });
  });
});

describe('loadConfigOrExit', () => {
  it('when the configuration is valid, then it returns it', () => {
    expect(loadConfigOrExit({ PORT: '4000' }).port).toBe(4000);
  });

  it('when a value is bad, then the process exits with code 1 and stderr names the variable', () => {
    const script = [
      "const { loadConfigOrExit } = require('./shared/config');",
      'loadConfigOrExit();',
      "process.stdout.write('still running');",
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DB_PORT: 'abc' },
      encoding: 'utf8',
      timeout: 20_000,
    });

    expect(child.error).toBeUndefined();
    expect(child.status).toBe(1);
    expect(child.stderr).toContain('DB_PORT');
    expect(child.stdout).not.toContain('still running');
  });
});

/**
 * The real entry points, as their images start them, in production with one unsafe secret at a
 * time. Both validate the configuration before opening any connection (api/main.ts calls
 * loadConfigOrExit first; workers/runtime.ts does in runWorkerProcess), so no service is needed.
 */
describe('process entry points in production', () => {
  const SECRET_NAMES = ['ADMIN_TOKEN', 'JWT_SECRET', 'RABBITMQ_URL', 'DEMO_USER_PASSWORD'];

  function start(entryPoint: string, env: Record<string, string>) {
    return spawnSync(process.execPath, ['--import', 'tsx', entryPoint], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
  }

  const unsafe: [string, string, string | undefined][] = [
    ['ADMIN_TOKEN is missing', 'ADMIN_TOKEN', undefined],
    ['ADMIN_TOKEN is too short', 'ADMIN_TOKEN', 'short-admin-token'],
    ['ADMIN_TOKEN is the development default', 'ADMIN_TOKEN', DEV_DEFAULTS.adminToken],
    ['JWT_SECRET is missing', 'JWT_SECRET', undefined],
    ['JWT_SECRET is too short', 'JWT_SECRET', 'a-jwt-secret-of-31-characters!!'],
    ['JWT_SECRET is the development default', 'JWT_SECRET', DEV_DEFAULTS.auth.jwtSecret],
    ['RABBITMQ_URL is the guest user', 'RABBITMQ_URL', 'amqp://guest:guest@127.0.0.1:1'],
    ['RABBITMQ_URL has a short password', 'RABBITMQ_URL', 'amqp://cine:short-pass@127.0.0.1:1'],
    ['RABBITMQ_URL has no password', 'RABBITMQ_URL', 'amqp://cine@127.0.0.1:1'],
    ['DEMO_USER_PASSWORD is set', 'DEMO_USER_PASSWORD', 'a-perfectly-long-demo-password'],
  ];

  describe.each([['api/main.ts'], ['workers/finaliser/main.ts']])('%s', (entryPoint) => {
    it.each(unsafe)(
      'when %s, then the process exits with code 1 and stderr names only that variable',
      (_, name, value) => {
        const child = start(entryPoint, productionWith({ [name]: value }));

        expect(child.error).toBeUndefined();
        expect(child.signal).toBeNull();
        expect(child.status).toBe(1);
        expect(child.stderr).toContain('Invalid configuration');
        expect(child.stderr).toContain(name);
        for (const other of SECRET_NAMES.filter((n) => n !== name))
          expect(child.stderr).not.toContain(other);
        if (value !== undefined) expect(child.stderr + child.stdout).not.toContain(value);
      },
    );
  });
});
