import type { Config } from '../config';
import { initOrm } from './orm';

/** Runs `fn` on the server's maintenance database, where databases are created and dropped. */
async function onMaintenanceDb(
  config: Config,
  fn: (execute: (sql: string) => Promise<unknown[]>) => Promise<void>,
) {
  const admin = await initOrm({ ...config, db: { ...config.db, name: 'postgres' } });
  try {
    await fn((sql) => admin.em.getConnection().execute(sql));
  } finally {
    await admin.close(true);
  }
}

// DB_NAME is validated as a plain SQL identifier (shared/config.ts), so quoting it is enough.
const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Creates the configured database when it does not exist. Two instances racing here both
 * succeed: Postgres refuses the loser's CREATE with 42P04 (duplicate database) or, when the two
 * catalog inserts collide, 23505 (unique violation), and either means "it exists now".
 */
export async function createDatabaseIfMissing(config: Config): Promise<boolean> {
  let created = false;
  await onMaintenanceDb(config, async (execute) => {
    const rows = await execute(
      `select 1 from pg_database where datname = '${config.db.name.replace(/'/g, "''")}'`,
    );
    if (rows.length > 0) return;
    try {
      await execute(`create database ${quoted(config.db.name)}`);
      created = true;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
    }
  });
  return created;
}

export async function dropDatabase(config: Config): Promise<void> {
  await onMaintenanceDb(config, async (execute) => {
    await execute(`drop database if exists ${quoted(config.db.name)} with (force)`);
  });
}
