/**
 * runForecast: runs the Python forecaster (forecast/demand, `python -m demand`) in the project's
 * venv as role forecast_writer, and hands back the JSON summary it prints last. An unreachable
 * warehouse is a (retryable) ServiceUnavailableError; any other failure a ProcessFailedError with
 * the tail of its output.
 */
import { join } from 'node:path';

import { childEnv, roleUrl, type Config } from '../lib/config/index.ts';
import { ProcessFailedError, ServiceUnavailableError, UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { runProcess } from '../lib/process.ts';
import { pythonPath } from '../great_expectations/run.ts';

const EXIT_USAGE = 2;
const EXIT_UNREACHABLE = 3;
const FORECAST_TIMEOUT_MS = 30 * 60_000;

export interface ForecastOptions {
  /** Last day whose data is used (YYYY-MM-DD); default the latest day in marts.fct_inventory_daily. */
  asOf?: string;
  /** Also forecast from this many weekly as-of dates before it (fills demand_vs_actual at once). */
  history?: number;
  seed?: number;
  runId?: string;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface ForecastSummary {
  command: 'forecast';
  as_of_date: string;
  as_of_dates: number;
  products: number;
  rows_written: number;
  models: string[];
  seconds: number;
  peak_rss_mb: number;
  /** Set when the history is too short to forecast from (a new shop): nothing was written. */
  skipped?: string;
}

export function forecastEnv(config: Config): Record<string, string> {
  return childEnv({
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONPATH: join(config.rootDir, 'forecast'),
    FORECAST_WAREHOUSE_URL: roleUrl(config, 'forecast_writer'),
    // One thread per core this machine can spare; XGBoost's result does not depend on it.
    OMP_NUM_THREADS: '2',
  });
}

export function forecastArgs(config: Config, options: ForecastOptions): string[] {
  const args = ['-m', 'demand', 'forecast', '--seed', String(options.seed ?? config.FORECAST_SEED)];
  args.push('--country', config.FORECAST_HOLIDAY_COUNTRY);
  if (options.asOf) args.push('--as-of', options.asOf);
  if (options.history) args.push('--history', String(options.history));
  if (options.runId) args.push('--run-id', options.runId);
  return args;
}

export async function runForecast(config: Config, options: ForecastOptions = {}): Promise<ForecastSummary> {
  const logger = options.logger;
  let last = '';
  try {
    await runProcess(pythonPath(config), forecastArgs(config, options), {
      cwd: config.rootDir,
      env: forecastEnv(config),
      signal: options.signal,
      timeoutMs: FORECAST_TIMEOUT_MS,
      onLine: (line, stream) => {
        if (stream === 'stdout' && line.startsWith('{')) last = line;
        else logger?.info({ stream }, line);
      },
    });
  } catch (error) {
    if (!(error instanceof ProcessFailedError)) throw error;
    if (error.exitCode === EXIT_UNREACHABLE)
      throw new ServiceUnavailableError(
        `forecast: the warehouse is unreachable; start it (npm run services:up) or check WAREHOUSE_URL\n${error.outputTail}`,
        error,
      );
    // e.g. --as-of outside the data: the forecaster names it in its last line.
    if (error.exitCode === EXIT_USAGE) throw new UsageError(error.outputTail.trim().split('\n').pop() ?? 'bad arguments');
    throw error;
  }
  if (!last) throw new ProcessFailedError('forecast', 0, null, 'the forecaster finished without printing its summary');
  return JSON.parse(last) as ForecastSummary;
}
