/** The flags of `npm run forecast`, parsed and checked before anything runs. */
import { parseArgs } from 'node:util';

import { UsageError } from '../lib/errors.ts';
import type { ForecastOptions } from './run.ts';

export const HELP = `Usage: npm run forecast -- [options]

Forecasts daily units for the next 14 days per active product and per category with four
models (seasonal naive, 28-day moving average, ridge regression, XGBoost), each with an 80%
conformal prediction interval, from the star schema (marts.fct_inventory_daily, dim_products,
fct_order_items), and writes them to marts.demand_forecast as role forecast_writer. A run
replaces the forecasts of its as-of date. See docs/forecast.md.

Options:
  --as-of YYYY-MM-DD   last day whose data is used (default: the latest day in the marts)
  --history N          also forecast from the N weekly as-of dates before it, each with only
                       the data known then (fills demand_vs_actual at once; default 0)
  --seed N             model seed (default FORECAST_SEED)
  --run-id UUID        scheduler run this belongs to (stored with the rows)
  --json               print the summary as JSON
  -h, --help           show this help
  -V, --version        print the version

Environment:
  WAREHOUSE_URL, WAREHOUSE_FORECAST_PASSWORD
  FORECAST_SEED             default 42
  FORECAST_HOLIDAY_COUNTRY  country whose public holidays are features (default US)
  PYTHON_VENV               venv with scikit-learn and xgboost (default .venv; npm run setup)
  LOG_LEVEL`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function parseForecastArgs(argv: string[]): ForecastOptions & { json: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'as-of': { type: 'string' },
        history: { type: 'string' },
        seed: { type: 'string' },
        'run-id': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const asOf = values['as-of'];
  if (asOf !== undefined && (!DATE.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`))))
    throw new UsageError(`--as-of must be a date YYYY-MM-DD (got ${JSON.stringify(asOf)})`);
  const whole = (name: string, text: string | undefined, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n > max) throw new UsageError(`--${name} must be a whole number 0..${max} (got ${JSON.stringify(text)})`);
    return n;
  };
  const history = whole('history', values.history, 52);
  const seed = whole('seed', values.seed, 2_147_483_647);
  const runId = values['run-id'];
  if (runId !== undefined && !UUID.test(runId)) throw new UsageError(`--run-id must be a UUID (got ${JSON.stringify(runId)})`);
  return {
    json: values.json,
    ...(asOf ? { asOf } : {}),
    ...(history !== undefined ? { history } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(runId ? { runId } : {}),
  };
}
