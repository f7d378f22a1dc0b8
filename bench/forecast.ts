/**
 * `npm run bench -- forecast [--scale F] [--seed N] [--to YYYY-MM-DD] [--weeks N] [--database NAME] [--keep]`
 *
 * Rolling-origin backtest of the demand forecaster (forecast/demand) on the default world
 * (10,000 customers, 50,000 orders, 500 products, 365 days ending --to; --scale multiplies
 * customers and orders) landed through the real pipeline (generator -> MariaDB -> CDC -> dbt
 * build of fct_inventory_daily, dim_products, fct_order_items): weekly origins over the last
 * --weeks weeks (default 8), each forecasting 14 days with only what was known then, scored
 * against the in-stock days that followed.
 *
 * Baselines measured in the same run, on the same rows: seasonal naive (same weekday last
 * week), the 28-day moving average, ridge regression. Every model is scored on its published
 * forecast (the median of the day's demand, docs/forecast.md) and, beside it, on its mean.
 * Last line: the DESIGN.md JSON; value =
 * XGBoost WAPE, ratio_to_ceiling = XGBoost WAPE / seasonal-naive WAPE (target <= 0.85), with
 * interval coverage (nominal 80%), training and inference seconds and the peak RSS of the
 * forecaster process. --database reuses a warehouse landed before (e.g. with --keep).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { DEFAULT_SIZE } from '../generator/params.ts';
import { loadConfig, roleUrl, type Config } from '../lib/config/index.ts';
import { runDbt } from '../lib/dbt/run.ts';
import { pythonPath } from '../great_expectations/run.ts';
import { forecastEnv } from '../forecast/run.ts';
import { printBenchResult, round } from './lib/result.ts';
import { landGeneratedShop, type LandedShop } from './lib/shop-pipeline.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    seed: { type: 'string', default: '42' },
    to: { type: 'string', default: '2025-12-31' },
    weeks: { type: 'string', default: '8' },
    database: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`usage: npm run bench -- forecast [--scale F] [--seed N] [--to YYYY-MM-DD] [--weeks N] [--database NAME] [--keep]

Lands the default world (365 days ending --to) into a scratch warehouse database, builds the
star schema, and backtests the demand forecaster over the last --weeks weekly origins: WAPE,
MAE, bias and 80% interval coverage per model, training and inference time, peak RSS.
--database NAME skips the landing and uses that warehouse database; --keep keeps the scratch one.
Environment: as the test suite (services from npm run services:up).
`);
  process.exit(0);
}
const scale = Number(values.scale);
const seed = Number(values.seed);
const weeks = Number(values.weeks);
if (!(scale > 0) || !Number.isInteger(seed) || !Number.isInteger(weeks) || weeks < 1 || !/^\d{4}-\d{2}-\d{2}$/.test(values.to)) {
  process.stderr.write('--scale must be > 0, --seed and --weeks whole numbers, --to YYYY-MM-DD\n');
  process.exit(2);
}
const log = (message: string) => process.stderr.write(`[bench forecast] ${message}\n`);

const DAY_MS = 86_400_000;
const from = new Date(Date.parse(`${values.to}T00:00:00Z`) - (DEFAULT_SIZE.days - 1) * DAY_MS).toISOString().slice(0, 10);
const size = {
  from,
  to: values.to,
  customers: Math.round(DEFAULT_SIZE.customers * scale),
  products: DEFAULT_SIZE.products,
  orders: Math.round(DEFAULT_SIZE.orders * scale),
  seed,
};

interface Scores {
  /** Of the published forecast (the median of the day's demand). */
  wape: number;
  mae: number;
  /** Of the mean (expected_units). */
  bias: number;
  expected_wape: number;
  expected_mse: number;
  coverage: number;
  rows: number;
}
interface Backtest {
  scores: Record<string, Scores>;
  train_seconds: Record<string, number>;
  predict_seconds: Record<string, number>;
  seconds: number;
  fits: number;
  peak_rss_mb: number;
  products: number;
  days: number;
}

function backtest(config: Config): Promise<Backtest> {
  return new Promise((resolve, reject) => {
    const child = spawn(pythonPath(config), ['-m', 'demand', 'backtest', '--weeks', String(weeks), '--seed', String(seed)], {
      cwd: config.rootDir,
      env: forecastEnv(config),
      shell: false,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`the backtest exited with ${code}: ${out.slice(-2000)}`));
      else resolve(JSON.parse(last) as Backtest);
    });
  });
}

// One scratch database per scale, so a 1x and a 10x world kept with --keep can sit side by side.
const scratchDatabase = scale === 1 ? 'bench_forecast' : `bench_forecast_x${String(scale).replace('.', '_')}`;
const config = loadConfig();
let shop: LandedShop | undefined;
let warehouse: Config = config;
try {
  if (values.database) {
    const url = new URL(config.WAREHOUSE_URL);
    url.pathname = `/${values.database}`;
    warehouse = { ...config, WAREHOUSE_URL: url.toString() };
    log(`using the warehouse database ${values.database}`);
  } else {
    log(`landing ${size.customers} customers, ${size.orders} orders, ${size.products} products, ${size.from}..${size.to}`);
    shop = await landGeneratedShop(config, scratchDatabase, size);
    warehouse = shop.config;
    log('landed; dbt build of the star schema the forecaster reads');
    await runDbt(
      warehouse,
      ['build', '--select', '+fct_inventory_daily', '+dim_products', '+fct_order_items', '--indirect-selection', 'cautious'],
      {
        targetPath: join(config.rootDir, '.data', 'bench', 'forecast-dbt-target'),
        logPath: join(config.rootDir, '.data', 'bench', 'forecast-dbt-logs'),
        threads: 2,
        timeoutMs: 30 * 60_000,
      },
    );
  }
  log(`backtest: ${weeks} weekly origins, 4 models (role forecast_writer: ${new URL(roleUrl(warehouse, 'forecast_writer')).username})`);
  const result = await backtest(warehouse);
  for (const [model, s] of Object.entries(result.scores))
    log(
      `${model.padEnd(15)} WAPE ${round(s.wape, 3)}  MAE ${round(s.mae, 3)}  mean: WAPE ${round(s.expected_wape, 3)} MSE/unit ${round(s.expected_mse, 3)} bias ${round(s.bias, 3)}  coverage ${round(s.coverage, 3)}  (${s.rows} product-days)`,
    );
  const xgb = result.scores.xgboost!;
  const naive = result.scores.seasonal_naive!;
  printBenchResult({
    bench: 'forecast',
    metric: 'xgboost_wape',
    unit: 'ratio',
    value: round(xgb.wape, 4),
    baselines: {
      seasonal_naive_wape: round(naive.wape, 4),
      moving_average_wape: round(result.scores.moving_average!.wape, 4),
      ridge_wape: round(result.scores.ridge!.wape, 4),
    },
    ratio_to_ceiling: round(xgb.wape / naive.wape, 4),
    extra: {
      scale,
      weeks,
      products: result.products,
      days: result.days,
      xgboost_coverage: round(xgb.coverage, 4),
      seasonal_naive_coverage: round(naive.coverage, 4),
      ridge_coverage: round(result.scores.ridge!.coverage, 4),
      moving_average_coverage: round(result.scores.moving_average!.coverage, 4),
      nominal_coverage: 0.8,
      // The models' means, scored the same way: what each would score publishing the mean, and
      // the squared error per actual unit the mean is best at (lower is better).
      xgboost_mean_wape: round(xgb.expected_wape, 4),
      moving_average_mean_wape: round(result.scores.moving_average!.expected_wape, 4),
      ridge_mean_wape: round(result.scores.ridge!.expected_wape, 4),
      xgboost_mean_mse: round(xgb.expected_mse, 4),
      moving_average_mean_mse: round(result.scores.moving_average!.expected_mse, 4),
      ridge_mean_mse: round(result.scores.ridge!.expected_mse, 4),
      xgboost_bias: round(xgb.bias, 4),
      xgboost_mae: round(xgb.mae, 4),
      xgboost_train_seconds: round(result.train_seconds.xgboost ?? 0, 2),
      xgboost_fits: result.fits,
      ridge_train_seconds: round(result.train_seconds.ridge ?? 0, 2),
      xgboost_predict_seconds: round(result.predict_seconds.xgboost ?? 0, 3),
      backtest_seconds: round(result.seconds, 1),
      peak_rss_mb: round(result.peak_rss_mb, 1),
      target_met: xgb.wape / naive.wape <= 0.85,
    },
  });
} finally {
  if (shop && !values.keep) await shop.drop();
  else if (shop) log(`kept the scratch databases ${scratchDatabase} (warehouse and shop): reuse with --database ${scratchDatabase}`);
}
