/**
 * runGate: runs one Great Expectations checkpoint in the project's Python venv, reads the JSON
 * summary it writes, and records the outcome in ops.gate_results. A failed expectation is a
 * result (success: false), not an exception; a crash of the Python process is a
 * ProcessFailedError and an unreachable warehouse a (retryable) ServiceUnavailableError.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { childEnv, roleUrl, type Config } from '../lib/config/index.ts';
import { ProcessFailedError, ServiceUnavailableError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { createPool } from '../lib/pg/pool.ts';
import { runProcess } from '../lib/process.ts';
import { dataVersion, gateResultFor } from './data-version.ts';
import { runnerSummarySchema, toGateSummary, type GateName, type GateSummary } from './summary.ts';
import { rawGateWindow, type GateScope } from './window.ts';

export type { GateSummary, GateName } from './summary.ts';
export type { GateScope, GateWindow } from './window.ts';

const EXIT_FAILED = 1;
const EXIT_UNREACHABLE = 3;
const GATE_TIMEOUT_MS = 20 * 60_000;

export interface RunGateOptions {
  signal?: AbortSignal;
  logger?: Logger;
  /** ops.runs.run_id of the scheduler run this gate belongs to. */
  runId?: string;
  /** Directory for JSON summaries; default out/gate under the project root. */
  outDir?: string;
  /**
   * Raw gate: 'incremental' (default) checks row by row only what landed since the last passed
   * raw gate; 'full' every row (the nightly job). See great_expectations/window.ts.
   */
  scope?: GateScope;
}

/** SQLAlchemy wants a driver in the scheme; the roles' URLs are plain postgres:// ones. */
export function sqlalchemyUrl(postgresUrl: string): string {
  return postgresUrl.replace(/^postgres(ql)?:\/\//, 'postgresql+psycopg2://');
}

export function gateEnv(config: Config): Record<string, string> {
  return childEnv({
    GX_ANALYTICS_ENABLED: 'false',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    // GX reads raw as transformer (raw/ingest/ops) and marts as bi_reader: never a superuser.
    GX_RAW_URL: sqlalchemyUrl(roleUrl(config, 'transformer')),
    GX_MARTS_URL: sqlalchemyUrl(roleUrl(config, 'bi_reader')),
    // Which sources the shop has; the runner adds every source that has ever landed.
    GATE_SOURCES: config.GATE_SOURCES.length > 0 ? config.GATE_SOURCES.join(',') : 'none',
  });
}

export function pythonPath(config: Config): string {
  return resolve(config.rootDir, config.PYTHON_VENV, 'bin', 'python');
}

export async function runGate(config: Config, gate: GateName, opts: RunGateOptions = {}): Promise<GateSummary> {
  const outDir = opts.outDir ?? join(config.rootDir, 'out', 'gate');
  await mkdir(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const summaryPath = join(outDir, `${gate}-${stamp}-${randomUUID().slice(0, 8)}.json`);
  const script = join(config.rootDir, 'great_expectations', 'gate', 'run_gate.py');
  const logger = opts.logger?.child({ gate });

  logger?.info('gate starting');
  // Before the run: data landing meanwhile makes the recorded version older, never newer, than what was checked.
  const version = await dataVersion(config, logger);
  const window = gate === 'raw' ? await rawGateWindow(config, opts.scope ?? 'incremental', logger) : undefined;
  if (window) logger?.info({ window }, `raw gate window: ${window.scope} (${window.reason})`);
  const args = [script, '--gate', gate, '--summary', summaryPath, ...(window?.loadedFrom ? ['--loaded-from', window.loadedFrom] : [])];
  try {
    await runProcess(pythonPath(config), args, {
      cwd: config.rootDir,
      env: gateEnv(config),
      signal: opts.signal,
      timeoutMs: GATE_TIMEOUT_MS,
      onLine: (line, stream) => logger?.debug({ stream }, line),
    });
  } catch (error) {
    if (!(error instanceof ProcessFailedError)) throw error;
    if (error.exitCode === EXIT_UNREACHABLE) {
      throw new ServiceUnavailableError(
        `gate ${gate}: the warehouse is unreachable; start it (npm run services:up) or check WAREHOUSE_URL\n${error.outputTail}`,
        error,
      );
    }
    // Exit 1 is "expectations failed" and comes with a summary; anything else is a crash.
    if (error.exitCode !== EXIT_FAILED) throw error;
  }

  let parsed;
  try {
    parsed = runnerSummarySchema.parse(JSON.parse(await readFile(summaryPath, 'utf8')));
  } catch (cause) {
    throw new ProcessFailedError(
      `gate ${gate}`,
      null,
      null,
      `the runner finished without a readable summary at ${summaryPath}: ${String(cause)}`,
    );
  }
  const summary: GateSummary = { ...toGateSummary(parsed, summaryPath), dataVersion: version, ...(window ? { window } : {}) };
  await recordGateResult(config, summary, opts.runId, logger);
  logger?.[summary.success ? 'info' : 'warn'](
    { evaluated: summary.evaluated, failed: summary.failed, summaryPath },
    summary.success ? 'gate passed' : 'gate failed',
  );
  return summary;
}

/**
 * The recorded result of a gate that already checked exactly the current data (same data
 * version), or a new run. What `npm run report` uses: the 08:00 job has just run both gates on
 * the data the report shows, and running them again cost as much as the report itself.
 */
export async function reuseOrRunGate(config: Config, gate: GateName, opts: RunGateOptions = {}): Promise<GateSummary> {
  const version = await dataVersion(config, opts.logger);
  const earlier = await gateResultFor(config, gate, version, opts.logger);
  if (earlier) {
    opts.logger?.info({ gate, checkedAt: earlier.checkedAt, dataVersion: version }, 'gate result reused: same data already checked');
    return { ...earlier, reusedFrom: earlier.checkedAt };
  }
  return runGate(config, gate, opts);
}

async function recordGateResult(config: Config, summary: GateSummary, runId: string | undefined, logger?: Logger): Promise<void> {
  const pool = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-gate', max: 1, logger });
  try {
    await pool.query(
      `insert into ops.gate_results (run_id, gate, checked_at, success, evaluated, failed, summary)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [runId ?? null, summary.gate, summary.checkedAt, summary.success, summary.evaluated, summary.failed, JSON.stringify(summary)],
    );
  } finally {
    await pool.end();
  }
}
