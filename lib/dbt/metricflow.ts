/**
 * Queries the semantic layer (dbt/models/semantic/) with MetricFlow's CLI, `mf query`, against
 * the warehouse named by a Config, connecting as `transformer` through the same profile
 * variables as dbt. Rows come back as strings, exactly as MetricFlow printed them, so callers
 * compare figures without a float in between.
 *
 * `mf` reads the semantic manifest only from <project>/target/semantic_manifest.json. A run with
 * its own target directory (tests, concurrent builds) gets a throwaway project root whose entries
 * link to dbt/ and whose `target` links to that directory, so it never reads or writes dbt/target.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ShopflowError } from '../errors.ts';
import { runProcess } from '../process.ts';
import { DBT_PROJECT_DIR, dbtEnv, type DbtConfig } from './run.ts';

export interface MetricQuery {
  metrics: readonly string[];
  /** Dimensions or entities, e.g. `metric_time__day`, `order__order_status`. */
  groupBy?: readonly string[];
  /** MetricFlow filters, e.g. `{{ TimeDimension('metric_time', 'day') }} = '2026-03-17'`. */
  where?: readonly string[];
  /** Inclusive bounds on metric_time, ISO dates. */
  startTime?: string;
  endTime?: string;
  order?: readonly string[];
}

export interface MetricQueryOptions {
  /** The dbt target directory holding semantic_manifest.json (default dbt/target). */
  targetPath?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type MetricRow = Record<string, string>;

/** MetricFlow answered with an error (an unknown metric, a filter it cannot resolve, a failed query). */
export class MetricQueryError extends ShopflowError {
  constructor(message: string, cause?: unknown) {
    super('SHOPFLOW_METRIC_QUERY_FAILED', message, { canRetry: false, ...(cause !== undefined ? { cause } : {}) });
  }
}

export function mfExecutable(config: Pick<DbtConfig, 'PYTHON_VENV' | 'rootDir'>): string {
  return join(resolve(config.rootDir, config.PYTHON_VENV), 'bin', 'mf');
}

/** `mf query` arguments for a request, writing its rows to `csvPath`. */
export function mfQueryArgs(query: MetricQuery, csvPath: string): string[] {
  if (query.metrics.length === 0) throw new MetricQueryError('a metric query needs at least one metric');
  const args = ['query', '--metrics', query.metrics.join(',')];
  if (query.groupBy?.length) args.push('--group-by', query.groupBy.join(','));
  for (const where of query.where ?? []) args.push('--where', where);
  if (query.startTime) args.push('--start-time', query.startTime);
  if (query.endTime) args.push('--end-time', query.endTime);
  if (query.order?.length) args.push('--order', query.order.join(','));
  args.push('--csv', csvPath, '--quiet');
  return args;
}

/** RFC 4180 CSV as Python's csv module writes it: quoted fields may hold commas, quotes and newlines. */
export function parseCsv(text: string): MetricRow[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  const [header, ...rows] = records.filter((r) => !(r.length === 1 && r[0] === ''));
  if (!header) return [];
  return rows.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i] ?? ''])));
}

/** A project root for `mf` whose `target` is `targetPath`; everything else links to dbt/. */
function projectRootFor(targetPath: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'shopflow-mf-'));
  for (const entry of readdirSync(DBT_PROJECT_DIR)) {
    if (entry === 'target' || entry === 'logs') continue;
    symlinkSync(join(DBT_PROJECT_DIR, entry), join(dir, entry));
  }
  symlinkSync(resolve(targetPath), join(dir, 'target'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run one metric query; resolves with its rows (column names as MetricFlow gives them). */
export async function queryMetrics(config: DbtConfig, query: MetricQuery, options: MetricQueryOptions = {}): Promise<MetricRow[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'shopflow-mf-out-'));
  const root = options.targetPath ? projectRootFor(options.targetPath) : { dir: DBT_PROJECT_DIR, cleanup: () => undefined };
  const csvPath = join(scratch, 'rows.csv');
  try {
    const env = dbtEnv(config, { logPath: join(scratch, 'logs') });
    // mf finds the project and profile from these, not from --target-path.
    env.DBT_PROJECT_DIR = root.dir;
    env.DBT_PROFILES_DIR = root.dir;
    delete env.DBT_TARGET_PATH;
    try {
      await runProcess(mfExecutable(config), mfQueryArgs(query, csvPath), {
        cwd: root.dir,
        env,
        signal: options.signal,
        timeoutMs: options.timeoutMs ?? 5 * 60_000,
        tailLines: 40,
      });
    } catch (error) {
      throw new MetricQueryError(`mf query --metrics ${query.metrics.join(',')} failed: ${(error as Error).message}`, error);
    }
    return parseCsv(readFileSync(csvPath, 'utf8'));
  } finally {
    root.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}
