import { randomBytes } from 'node:crypto';
import type { Config } from '../../shared/config';
import { initOrm, type Orm } from '../../shared/db/orm';
import { prepareDatabase } from '../../shared/db/prepare';
import { createLogger } from '../../shared/logger';
import { testConfig } from './config';

export const silentLogger = createLogger({ level: 'error', service: 'test', silent: true });

export interface TestDatabase {
  config: Config;
  orm: Orm;
  /** Closes the ORM and drops the database. */
  drop: () => Promise<void>;
}

/** A throwaway database for one test file: `cine_test_<random>`, migrated, seeded if asked. */
export async function createTestDatabase(
  options: { seed?: boolean; env?: Record<string, string> } = {},
): Promise<TestDatabase> {
  const name = `cine_test_${randomBytes(6).toString('hex')}`;
  const config = testConfig({ DB_NAME: name, ...options.env });
  await prepareDatabase(config, silentLogger, { seed: options.seed ?? true });
  const orm = await initOrm(config);
  return {
    config,
    orm,
    drop: async () => {
      await orm.close(true);
      await dropDatabase(config, name);
    },
  };
}

export async function dropDatabase(config: Config, name: string): Promise<void> {
  const admin = await initOrm({ ...config, db: { ...config.db, name: 'postgres' } });
  try {
    await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.close(true);
  }
}
