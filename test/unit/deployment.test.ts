import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SHIPPED_SECRETS, loadConfig } from '../../shared/config';

/**
 * docker-compose.yml as docker-compose renders it (§2: only the API's port is published, every
 * secret comes from the environment and none has a usable default), and .env.example beside it.
 * Needs the `docker-compose` command (.ci/run installs Debian's), not a Docker engine.
 */
const ROOT = path.resolve(__dirname, '../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const ENV_EXAMPLE = path.join(ROOT, '.env.example');

/** The variables compose requires, each with a fresh random value (URL-safe, long enough). */
const REQUIRED_SECRETS = ['ADMIN_TOKEN', 'JWT_SECRET', 'DB_PASSWORD', 'RABBITMQ_PASSWORD'];
const SECRETS: Readonly<Record<string, string>> = Object.fromEntries(
  REQUIRED_SECRETS.map((name) => [name, randomBytes(24).toString('hex')]),
);

interface ComposeService {
  environment?: Record<string, string | null>;
  ports?: unknown[];
  container_name?: string;
  healthcheck?: unknown;
}
interface ComposeModel {
  services: Record<string, ComposeService>;
}

/**
 * The environment a service's container starts with: compose leaves a variable listed without a
 * value (null) unset, unless the shell or .env gives it one.
 */
const containerEnv = (service: ComposeService): Record<string, string> =>
  Object.fromEntries(
    Object.entries(service.environment ?? {}).flatMap(([k, v]) => (v === null ? [] : [[k, v]])),
  );

let scratch: string;
let emptyEnvFile: string;

/**
 * docker-compose on the repository's compose file alone, in a throwaway environment: no variable
 * of this process, no .env of the repository root (an empty --env-file instead; compose 1.x
 * refuses /dev/null) and no docker-compose.override.yml (-f names the one file).
 */
function composeCommand(args: string[], env: Record<string, string>, envFile = emptyEnvFile) {
  return {
    args: ['-f', COMPOSE_FILE, '--env-file', envFile, ...args],
    options: {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: scratch, ...env },
      encoding: 'utf8' as const,
      timeout: 30_000,
    },
  };
}

/** Runs docker-compose and returns how it ended, failure included. */
function compose(
  args: string[],
  env: Record<string, string>,
  envFile?: string,
): SpawnSyncReturns<string> {
  const { args: argv, options } = composeCommand(args, env, envFile);
  return spawnSync('docker-compose', argv, options);
}

function composeMajorVersion(): number {
  const version = execFileSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  return Number(/(\d+)\./.exec(version)?.[1] ?? 0);
}

/** `docker-compose config`, parsed (throws when docker-compose fails). */
function render(env: Record<string, string>): ComposeModel {
  const run = (args: string[]) => {
    const { args: argv, options } = composeCommand(args, env);
    return execFileSync('docker-compose', argv, options);
  };
  if (composeMajorVersion() >= 2) return JSON.parse(run(['config', '--format', 'json']));
  // Compose 1.x prints YAML only. It is a Python program built on PyYAML (a dependency of
  // Debian's package), so that parser is there whenever it is; the project has no YAML parser
  // of its own to depend on.
  const yaml = run(['config']);
  const json = execFileSync(
    'python3',
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: yaml, encoding: 'utf8', timeout: 30_000 },
  );
  return JSON.parse(json);
}

/** The variables shared/config.ts reads: the keys of its Joi schema. */
function configVariables(): string[] {
  const source = readFileSync(path.join(ROOT, 'shared/config.ts'), 'utf8');
  return [...source.matchAll(/^ {2}([A-Z][A-Z0-9_]*): Joi\b/gm)].map(([, name]) => name!);
}

/** The assignments of .env.example, commented-out ones included (`# NAME=value`). */
function envExampleAssignments(): Map<string, { value: string; commented: boolean }> {
  const lines = readFileSync(ENV_EXAMPLE, 'utf8').split('\n');
  const assignments = new Map<string, { value: string; commented: boolean }>();
  for (const line of lines) {
    const match = /^(# )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) assignments.set(match[2]!, { value: match[3]!, commented: match[1] !== undefined });
  }
  return assignments;
}

beforeAll(() => {
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    throw new Error(
      'docker-compose is not installed: apt-get install docker-compose (.ci/run does)',
    );
  scratch = mkdtempSync(path.join(tmpdir(), 'cine-compose-'));
  emptyEnvFile = path.join(scratch, 'empty.env');
  writeFileSync(emptyEnvFile, '');
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('docker-compose.yml', () => {
  describe('when rendered with every secret set', () => {
    let model: ComposeModel;
    beforeAll(() => {
      model = render(SECRETS);
    });
    const service = (name: string): ComposeService => {
      const found = model.services[name];
      if (!found) throw new Error(`no service ${name}`);
      return found;
    };

    it('then it has the five services of §2', () => {
      expect(Object.keys(model.services).sort()).toEqual(
        ['api', 'postgres', 'rabbitmq', 'redis', 'worker'].sort(),
      );
    });

    it('then only the api service publishes ports', () => {
      const publishing = Object.entries(model.services)
        .filter(([, s]) => (s.ports ?? []).length > 0)
        .map(([name]) => name);
      expect(publishing).toEqual(['api']);
      expect(service('api').ports).toHaveLength(1);
    });

    it('then the worker has neither a published port nor a container name, so it scales', () => {
      expect(service('worker').ports).toBeUndefined();
      expect(service('worker').container_name).toBeUndefined();
    });

    it('then postgres, redis and rabbitmq keep their health checks', () => {
      for (const name of ['postgres', 'redis', 'rabbitmq'])
        expect(service(name).healthcheck).toBeDefined();
    });

    it('then no environment value contains guest or a shipped secret', () => {
      const values = Object.entries(model.services).flatMap(([name, s]) =>
        Object.entries(s.environment ?? {}).map(([key, value]) => ({
          where: `${name}.${key}`,
          value: String(value ?? ''),
        })),
      );
      expect(values.length).toBeGreaterThan(0);
      const offending = values.filter(({ value }) =>
        [...SHIPPED_SECRETS, 'guest'].some((shipped) => value.includes(shipped)),
      );
      expect(offending).toEqual([]);
      expect(JSON.stringify(model)).not.toContain('guest');
    });

    it('then RabbitMQ creates its own user, not guest, and the app connects as that user', () => {
      const rabbit = service('rabbitmq').environment ?? {};
      expect(rabbit.RABBITMQ_DEFAULT_USER).toBe('cine');
      expect(rabbit.RABBITMQ_DEFAULT_PASS).toBe(SECRETS.RABBITMQ_PASSWORD);
      for (const app of ['api', 'worker'])
        expect(service(app).environment?.RABBITMQ_URL).toBe(
          `amqp://cine:${SECRETS.RABBITMQ_PASSWORD}@rabbitmq:5672`,
        );
    });

    it('then every secret reaches its services exactly as given', () => {
      expect(service('postgres').environment?.POSTGRES_PASSWORD).toBe(SECRETS.DB_PASSWORD);
      for (const app of ['api', 'worker'])
        expect(service(app).environment).toMatchObject({
          ADMIN_TOKEN: SECRETS.ADMIN_TOKEN,
          JWT_SECRET: SECRETS.JWT_SECRET,
          DB_PASSWORD: SECRETS.DB_PASSWORD,
        });
    });

    it.each(['api', 'worker'])(
      'then the %s environment is a valid production configuration, seed routes off',
      (app) => {
        const env = containerEnv(service(app));
        expect(env).not.toHaveProperty('DEMO_USER_PASSWORD');
        const config = loadConfig(env);
        expect(config).toMatchObject({
          nodeEnv: 'production',
          adminToken: SECRETS.ADMIN_TOKEN,
          auth: { jwtSecret: SECRETS.JWT_SECRET, demoUserPassword: null },
          seedRoutes: false,
        });
        // 0 hops: the client address is the socket's, as when TRUST_PROXY is unset.
        expect(config.trustProxy).toBe(0);
      },
    );
  });

  it('when METRICS_TOKEN is not set, then the api gets none (not an empty one) and its /metrics is closed', () => {
    const api = render(SECRETS).services.api!;
    expect(containerEnv(api)).not.toHaveProperty('METRICS_TOKEN');
    expect(loadConfig(containerEnv(api)).metricsToken).toBeNull();
  });

  it('when METRICS_TOKEN is set, then the api gets it, the worker does not, and the config accepts it', () => {
    const metricsToken = randomBytes(24).toString('hex');
    const model = render({ ...SECRETS, METRICS_TOKEN: metricsToken });
    expect(loadConfig(containerEnv(model.services.api!)).metricsToken).toBe(metricsToken);
    expect(containerEnv(model.services.worker!)).not.toHaveProperty('METRICS_TOKEN');
  });

  it('when RABBITMQ_USER is set, then RabbitMQ creates that user and the app connects as it', () => {
    const model = render({ ...SECRETS, RABBITMQ_USER: 'checkout' });
    expect(model.services.rabbitmq?.environment?.RABBITMQ_DEFAULT_USER).toBe('checkout');
    expect(model.services.api?.environment?.RABBITMQ_URL).toBe(
      `amqp://checkout:${SECRETS.RABBITMQ_PASSWORD}@rabbitmq:5672`,
    );
  });

  it('when every secret is set, then docker-compose config -q succeeds', () => {
    const result = compose(['config', '-q'], SECRETS);
    expect(result.error).toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  describe.each(REQUIRED_SECRETS)('when %s', (name) => {
    it.each([
      ['is missing', undefined],
      ['is empty', ''],
    ])(`%s, then docker-compose config -q fails naming ${name}`, (_, value) => {
      const env: Record<string, string> = { ...SECRETS };
      if (value === undefined) delete env[name];
      else env[name] = value;

      const result = compose(['config', '-q'], env);

      expect(result.error).toBeUndefined();
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(`set ${name} (see .env.example)`);
      // The error shows the file's templates, never the other secrets' values.
      for (const secret of Object.values(SECRETS)) expect(result.stderr).not.toContain(secret);
    });
  });

  it('when .env.example is copied as it is, then docker-compose refuses to start: its secrets are empty', () => {
    const result = compose(['config', '-q'], {}, ENV_EXAMPLE);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/set (ADMIN_TOKEN|JWT_SECRET|DB_PASSWORD|RABBITMQ_PASSWORD) /);
  });

  it('when .env.example is copied with its secrets filled in, then the stack renders', () => {
    const filled = readFileSync(ENV_EXAMPLE, 'utf8').replace(
      /^(ADMIN_TOKEN|JWT_SECRET|DB_PASSWORD|RABBITMQ_PASSWORD)=$/gm,
      (_, name: string) => `${name}=${SECRETS[name]}`,
    );
    const envFile = path.join(scratch, 'filled.env');
    writeFileSync(envFile, filled);
    const result = compose(['config', '-q'], {}, envFile);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('.env.example', () => {
  const assignments = envExampleAssignments();

  it('when read, then it documents every variable shared/config.ts reads', () => {
    const variables = configVariables();
    expect(variables.length).toBeGreaterThan(20);
    expect(variables.filter((name) => !assignments.has(name))).toEqual([]);
  });

  it('when read, then it documents every variable docker-compose.yml substitutes', () => {
    const text = readFileSync(COMPOSE_FILE, 'utf8');
    // `$${...}` is an escaped dollar: the container's shell expands it, not compose.
    const substituted = new Set(
      [...text.matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)].map(([, name]) => name!),
    );
    expect(substituted.size).toBeGreaterThan(0);
    expect([...substituted].filter((name) => !assignments.has(name))).toEqual([]);
  });

  it('when read, then every secret is present but empty, and the demo password is not set', () => {
    for (const name of REQUIRED_SECRETS)
      expect(assignments.get(name)).toEqual({ value: '', commented: false });
    expect(assignments.get('DEMO_USER_PASSWORD')?.commented).toBe(true);
  });

  it('when copied to .env for compose, then it turns on neither the seed routes nor a proxy', () => {
    expect(assignments.get('SEED_ROUTES')?.commented).toBe(true);
    expect(assignments.get('TRUST_PROXY')?.commented).toBe(true);
  });
});
