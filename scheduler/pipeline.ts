/**
 * The real pipeline operations: dbt from the project's venv (lib/dbt), the Great Expectations
 * gates, the morning report and alert mail (each exactly once through ops.reports_sent /
 * ops.alerts_sent).
 */
import { join } from 'node:path';

import type { Config } from '../lib/config/index.ts';
import { runDbt } from '../lib/dbt/run.ts';
import { runForecast } from '../forecast/run.ts';
import { jobCommand, jobSettings } from '../lib/lakehouse/jobs.ts';
import { installedLakehouse } from '../lib/lakehouse/paths.ts';
import { runProcess } from '../lib/process.ts';
import type { Logger } from '../lib/logger.ts';
import { roleUrl } from '../lib/config/index.ts';
import { flushAlertOutbox, queueAlert, sendAlert } from '../lib/mail/index.ts';
import { createPool } from '../lib/pg/pool.ts';
import { archiveRaw } from '../lib/warehouse/archive/index.ts';
import { runGate, type GateSummary } from '../great_expectations/run.ts';
import { sendGateFailureAlert } from '../report/alerts.ts';
import { latestBusinessDate } from '../report/queries.ts';
import { sendDailyReport } from '../report/send.ts';
import type { GateOutcome, PipelineOperations } from './operations.ts';

/** The gate results a job collected are the GateSummary objects runGate returned. */
function asGateSummaries(gates: GateOutcome[]): GateSummary[] {
  return gates as GateSummary[];
}

export function buildLockPath(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'dbt', 'scheduler', 'build.lock');
}

export function realPipeline(config: Config, logger: Logger): PipelineOperations {
  return {
    dbt: async (args, options) => {
      const result = await runDbt(config, args, {
        signal: options.signal,
        // Its own target/ and logs/, so an analyst's `dbt` in dbt/ never clashes with the scheduler's.
        targetPath: join(config.dataDir, 'dbt', 'scheduler', 'target'),
        ...(options.testLoadedSince ? { testLoadedSince: options.testLoadedSince } : {}),
        logPath: join(config.dataDir, 'dbt', 'scheduler', 'logs'),
        timeoutMs: config.SCHEDULER_DBT_TIMEOUT_MINUTES * 60_000,
        // The warehouse build lock: held by the dbt process itself, so a build orphaned by a killed
        // scheduler (until its watchdog ends it) keeps a restarted scheduler from starting another.
        lockFile: buildLockPath(config),
        onLine: (line) => {
          options.onLine(line);
          options.logger.debug({ dbt: true }, line);
        },
      });
      return { outputTail: result.outputTail };
    },
    gate: (gate, options, scope) =>
      runGate(config, gate, { signal: options.signal, logger: options.logger, runId: options.runId, ...(scope ? { scope } : {}) }),
    forecast: async (options) => {
      const summary = await runForecast(config, { signal: options.signal, logger: options.logger, runId: options.runId });
      return {
        outputTail: summary.skipped
          ? `forecast skipped as of ${summary.as_of_date}: ${summary.skipped}`
          : `forecast as of ${summary.as_of_date}: ${summary.products} products, ${summary.rows_written} rows (${summary.seconds.toFixed(1)} s)`,
      };
    },
    archiveRaw: async (options) => {
      if (config.RAW_RETENTION_DAYS === 0) return { outputTail: 'raw retention off (RAW_RETENTION_DAYS=0)' };
      const { plan, archived } = await archiveRaw(config, { signal: options.signal, logger: options.logger });
      const rows = archived.reduce((sum, m) => sum + m.rows, 0);
      const held = plan.held.length > 0 ? `; kept ${plan.held.length} due day(s) staging has not read past` : '';
      return {
        outputTail: `raw retention: archived and dropped ${archived.length} load day(s) before ${plan.cutoff}, ${rows} rows${held}`,
      };
    },
    lakeMaintenance: async (options) => {
      const paths = installedLakehouse(config);
      const { command, args, env } = jobCommand(paths, 'maintenance', jobSettings(config, 'maintenance', {}, paths));
      const result = await runProcess(command, args, {
        cwd: paths.jobsDir,
        env,
        signal: options.signal,
        onLine: (line) => options.onLine(line),
      });
      return { outputTail: result.outputTail };
    },
    sendReport: async (input) => {
      const result = await sendDailyReport(
        config,
        { businessDate: input.businessDate, runId: input.runId, gates: asGateSummaries(input.gates), now: input.now },
        { logger },
      );
      return {
        sent: result.sent,
        alreadySent: result.alreadySent,
        htmlPath: result.htmlPath,
        ...(result.messageId ? { messageId: result.messageId } : {}),
      };
    },
    sendGateFailureAlert: (input) =>
      sendGateFailureAlert(
        config,
        { businessDate: input.businessDate, gates: asGateSummaries(input.gates), ...(input.dataDate ? { dataDate: input.dataDate } : {}) },
        { logger },
      ),
    latestDataDate: async () => {
      const pool = createPool({
        connectionString: roleUrl(config, 'bi_reader'),
        applicationName: 'shopflow-scheduler-coverage',
        max: 1,
        logger,
      });
      try {
        return await latestBusinessDate(pool);
      } finally {
        await pool.end();
      }
    },
    sendAlert: async (alert) => (await sendAlert(config, alert, { logger })).sent,
    queueAlert: async (alert) => {
      const pool = createPool({
        connectionString: roleUrl(config, 'ops_writer'),
        applicationName: 'shopflow-alert-outbox',
        max: 1,
        logger,
      });
      try {
        return await queueAlert(config, pool, alert);
      } finally {
        await pool.end();
      }
    },
    flushAlerts: async () => {
      const pool = createPool({
        connectionString: roleUrl(config, 'ops_writer'),
        applicationName: 'shopflow-alert-outbox',
        max: 1,
        logger,
      });
      try {
        return await flushAlertOutbox(config, pool, { logger });
      } finally {
        await pool.end();
      }
    },
  };
}
