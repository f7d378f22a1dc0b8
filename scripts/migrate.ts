/** `npm run migrate`: create the warehouse database, schemas and roles. */
import { loadConfig } from '../lib/config/index.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../lib/warehouse/migrate.ts';

const config = loadConfig();
const logger = createLogger('migrate', config.LOG_LEVEL);
const { applied } = await migrate(config, { logger });
logger.info({ applied: applied.length }, 'warehouse schema up to date');
