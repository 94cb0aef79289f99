import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { SeedManager } from '@mikro-orm/seeder';
import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { entities } from './entities';
import { migrationsList } from './migrations';

export type Orm = MikroORM;

/**
 * Entities and migrations are passed as lists, not discovered from folders, so the same options
 * work from TypeScript sources (tests, `tsx`) and from compiled `dist/` without path juggling.
 */
export function ormOptions(config: Config, logger?: Logger): Options {
  return {
    entities,
    dbName: config.db.name,
    host: config.db.host,
    port: config.db.port,
    user: config.db.user,
    password: config.db.password,
    extensions: [Migrator, SeedManager],
    migrations: {
      migrationsList,
      path: path.join(__dirname, 'migrations'),
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: { min: 0, max: 10 },
    debug: false,
    logger: (message) => logger?.debug(message, { component: 'mikro-orm' }),
    // Entities are loaded per request context (RequestContext / em.fork()), never from the global EM.
    allowGlobalContext: false,
    // Creating the database is an explicit step (shared/db/database-admin.ts), safe under races.
    ensureDatabase: false,
  };
}

export function initOrm(config: Config, logger?: Logger): Promise<Orm> {
  return MikroORM.init(ormOptions(config, logger));
}
