import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig, loadConfigOrExit } from '../../shared/config';

const PRODUCTION_TOKEN = 'a-long-production-secret-0123456789';

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
        adminToken: expect.any(String),
        catalogueCacheTtlSeconds: 5,
        metricsPort: 9100,
        paymentReconciler: { stuckAfterMs: 20_000, everyMs: 5_000 },
      });
    });

    it('then outside production a development admin token is provided', () => {
      expect(config.adminToken.length).toBeGreaterThan(0);
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
      ADMIN_TOKEN: 'an-admin-token-for-tests',
      CATALOGUE_CACHE_TTL_SECONDS: '0',
      METRICS_PORT: '9200',
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
      adminToken: 'an-admin-token-for-tests',
      catalogueCacheTtlSeconds: 0,
      metricsPort: 9200,
      paymentReconciler: { stuckAfterMs: 30_000, everyMs: 500 },
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

  describe('in production', () => {
    it('when ADMIN_TOKEN is missing, then the configuration is refused naming it', () => {
      expect(configErrorFor({ NODE_ENV: 'production' }).message).toContain('ADMIN_TOKEN');
    });

    it('when ADMIN_TOKEN is the development default, then the configuration is refused naming it', () => {
      const devDefault = loadConfig({}).adminToken;
      const error = configErrorFor({ NODE_ENV: 'production', ADMIN_TOKEN: devDefault });
      expect(error.message).toContain('ADMIN_TOKEN');
    });

    it('when ADMIN_TOKEN is too short to be a secret, then the configuration is refused naming it', () => {
      expect(configErrorFor({ NODE_ENV: 'production', ADMIN_TOKEN: 'short' }).message).toContain(
        'ADMIN_TOKEN',
      );
    });

    it('when a real ADMIN_TOKEN is given, then it is used', () => {
      const config = loadConfig({ NODE_ENV: 'production', ADMIN_TOKEN: PRODUCTION_TOKEN });
      expect(config.nodeEnv).toBe('production');
      expect(config.adminToken).toBe(PRODUCTION_TOKEN);
    });
  });
});

describe('loadConfigOrExit', () => {
  it('when the configuration is valid, then it returns it', () => {
    expect(loadConfigOrExit({ PORT: '4000' }).port).toBe(4000);
  });

  it('when a value is bad, then the process exits with code 1 and stderr names the variable', () => {
    const root = path.resolve(__dirname, '../..');
    const script = [
      "const { loadConfigOrExit } = require('./shared/config');",
      'loadConfigOrExit();',
      "process.stdout.write('still running');",
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: root,
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
