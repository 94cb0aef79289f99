/** Creates the database if missing, applies migrations, seeds demo data when empty. */
import { loadConfigOrExit } from '../shared/config';
import { createLogger } from '../shared/logger';
import { prepareDatabase } from '../shared/setup/prepare-database';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, service: 'prepare-db' });

prepareDatabase(config, logger).then(
  () => process.exit(0),
  (err) => {
    logger.error('database preparation failed', { err });
    process.exit(1);
  },
);
