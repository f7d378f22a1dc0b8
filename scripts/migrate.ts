/** `npm run migrate`: create the warehouse database, schemas and roles. */
import { EXIT } from '../lib/cli/exit-codes.ts';
import { runCli } from '../lib/cli/run.ts';
import { UsageError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../lib/warehouse/migrate.ts';

const HELP = `Usage: npm run migrate

Creates the warehouse database named in WAREHOUSE_URL if it is missing, its schemas and the
least-privilege roles, and applies every migration in lib/warehouse/migrations/ not applied yet
(each once, under an advisory lock). \`npm run services:up\` runs it too.

Environment: WAREHOUSE_URL (a superuser: migrations only), WAREHOUSE_INGEST_PASSWORD,
WAREHOUSE_TRANSFORMER_PASSWORD, WAREHOUSE_BI_PASSWORD, WAREHOUSE_OPS_PASSWORD,
WAREHOUSE_FORECAST_PASSWORD, LOG_LEVEL.`;

await runCli({
  name: 'migrate',
  help: HELP,
  async main(argv, context) {
    if (argv.length > 0) throw new UsageError(`migrate takes no arguments (got ${argv.join(' ')})`);
    const config = context.config();
    const logger = createLogger('migrate', config);
    const { applied } = await migrate(config, { logger });
    logger.info({ applied: applied.length }, 'warehouse schema up to date');
    return EXIT.ok;
  },
});
