import { randomBytes } from 'node:crypto';
import type { Config } from '../../shared/config';
import { dropDatabase } from '../../shared/db/database-admin';
import { initOrm, type Orm } from '../../shared/db/orm';
import { prepareDatabase } from '../../shared/setup/prepare-database';
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
      await dropDatabase(config);
    },
  };
}
