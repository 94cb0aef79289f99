import type { Config } from '../config';
import type { Logger } from '../logger';
import { User } from '../db/entities';
import { createDatabaseIfMissing } from '../db/database-admin';
import { initOrm, type Orm } from '../db/orm';
import { DemoSeeder, giveDemoUsersPassword } from './demo-seeder';

const MIGRATION_LOCK_KEY = 0x63696e65; // "cine": any constant shared by every instance

/**
 * Brings a database to the current schema, from nothing if need be: creates it if missing,
 * applies pending migrations and seeds the demo data when it holds no users (and, outside
 * production, gives the demo users DEMO_USER_PASSWORD). Several instances
 * may start at once: they queue on a Postgres advisory lock, and the second finds nothing to do.
 */
export async function prepareDatabase(
  config: Config,
  logger: Logger,
  options: { seed: boolean } = { seed: true },
): Promise<void> {
  if (await createDatabaseIfMissing(config))
    logger.info('database created', { name: config.db.name });
  const orm = await initOrm(config, logger);
  try {
    await withAdvisoryLock(orm, async () => {
      const applied = await orm.getMigrator().up();
      logger.info('migrations applied', {
        count: applied.length,
        names: applied.map((m) => m.name),
      });
      if (options.seed && (await orm.em.fork().count(User)) === 0) {
        await orm.getSeeder().seed(DemoSeeder);
        logger.info('demo data seeded');
      }
      const demoPassword = config.auth.demoUserPassword;
      if (
        options.seed &&
        demoPassword &&
        (await giveDemoUsersPassword(orm.em.fork(), demoPassword))
      )
        logger.info('demo users can sign in with DEMO_USER_PASSWORD');
    });
  } finally {
    await orm.close(true);
  }
}

async function withAdvisoryLock(orm: Orm, fn: () => Promise<void>): Promise<void> {
  const knex = orm.em.getConnection().getKnex();
  const connection = await knex.client.acquireConnection();
  try {
    await knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
    try {
      await fn();
    } finally {
      await knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
