/**
 * npm run forecast -- [--as-of YYYY-MM-DD] [--history N] [--seed N] [--run-id UUID] [--json]
 * Forecasts the next 14 days of units per active product and category into marts.demand_forecast.
 */
import { EXIT } from '../lib/cli/exit-codes.ts';
import { assertPortAnswers } from '../lib/cli/preflight.ts';
import { runCli } from '../lib/cli/run.ts';
import { createLogger } from '../lib/logger.ts';
import { HELP, parseForecastArgs } from './args.ts';
import { runForecast } from './run.ts';

await runCli({
  name: 'forecast',
  help: HELP,
  async main(argv, context) {
    const { json, ...options } = parseForecastArgs(argv);
    const config = context.config();
    const logger = createLogger('forecast', config);
    await assertPortAnswers(config.WAREHOUSE_URL, 5432, 'the Postgres warehouse');
    const summary = await runForecast(config, { ...options, logger });
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else if (summary.skipped) process.stdout.write(`forecast skipped as of ${summary.as_of_date}: ${summary.skipped}\n`);
    else
      process.stdout.write(
        `forecast as of ${summary.as_of_date}: ${summary.products} products x ${summary.models.length} models, ` +
          `${summary.rows_written} rows in marts.demand_forecast (${summary.as_of_dates} as-of date(s), ${summary.seconds.toFixed(1)} s)\n`,
      );
    return EXIT.ok;
  },
});
