/**
 * The scheduler's jobs, built from the pipeline operations:
 *   microbatch  dbt build (no snapshots), every MICROBATCH_MINUTES
 *   nightly     dbt build with snapshots -> demand forecast -> the forecast marts -> the raw gate's full pass
 *               -> raw retention (archive and drop load days older than RAW_RETENTION_DAYS), at NIGHTLY_CRON
 *   report      dbt build -> raw gate -> marts gate -> report email, at REPORT_CRON
 *   alerts      refresh the fraud / low-stock marts -> send each new alert once, every minute
 *   lake_maintenance  Iceberg compaction + snapshot expiry, at LAKE_MAINTENANCE_CRON (lakehouse on)
 */
import { FatalPipelineError, ShopflowError } from '../../lib/errors.ts';
import { stableMessageId } from '../../lib/mail/alert.ts';
import { resolveCommand } from '../../lib/mail/deliver.ts';
import { mailboxDir } from '../../lib/mail/mailbox.ts';
import type { JobDefinition, JobName, StepContext, StepDefinition } from '../job.ts';
import type { RunLedger } from '../ledger.ts';
import type { Mutex } from '../mutex.ts';
import type { GateOutcome, PipelineOperations } from '../operations.ts';
import { checkOperationalAlerts, type AlertFacts, type AlertFreshness } from './operational-alerts.ts';
import {
  DBT_ALERT_ARGS,
  DBT_FORECAST_ARGS,
  DBT_NIGHTLY_ARGS,
  NIGHTLY_BUILD_STEP,
  microbatchBuild,
  reportBuild,
  type DbtBuild,
} from './dbt-args.ts';

export interface JobDependencies {
  operations: PipelineOperations;
  ledger: RunLedger;
  dbtMutex: Mutex;
  freshness: AlertFreshness;
  facts: AlertFacts;
  /** Only alert on orders / stock crossings this recent (scheduler clock), so history never floods the inbox. */
  alertLookbackMs: number;
}

function childOptions(context: StepContext) {
  return { runId: context.runId, signal: context.signal, logger: context.logger, onLine: context.onLine };
}

function dbtStep(
  name: string,
  build: string[] | (() => Promise<DbtBuild>),
  deps: JobDependencies,
  options: { coversAlertMarts: boolean },
): StepDefinition {
  return {
    name,
    run: async (context) => {
      const startedAt = context.clock.now();
      const { args, testLoadedSince } = typeof build === 'function' ? await build() : { args: build, testLoadedSince: undefined };
      const run = { ...childOptions(context), ...(testLoadedSince ? { testLoadedSince } : {}) };
      const { outputTail } = await deps.dbtMutex.run(() => deps.operations.dbt(args, run), context.signal);
      // A build that covered the alert marts makes the next alert check's own refresh unnecessary.
      if (options.coversAlertMarts) deps.freshness.markBuilt(startedAt);
      return { outputTail };
    },
  };
}

function gateStep(gate: 'raw' | 'marts', deps: JobDependencies): StepDefinition {
  return {
    name: `gate_${gate}`,
    run: async (context) => {
      const summary = await deps.operations.gate(gate, childOptions(context));
      return {
        result: summary,
        outputTail: `${gate} gate: ${summary.success ? 'passed' : 'FAILED'} (${summary.evaluated} expectations, ${summary.failed} failed)`,
      };
    },
  };
}

function reportJob(deps: JobDependencies): JobDefinition {
  const gatesOf = (context: StepContext) =>
    ['gate_raw', 'gate_marts'].map((step) => context.results.get(step)).filter((g): g is GateOutcome => g !== undefined);
  return {
    name: 'report',
    alertWindow: 'run',
    steps: [
      {
        name: 'check_not_sent',
        run: async (context) => {
          const state = await deps.ledger.reportState(context.businessDate);
          if (state === 'sent')
            return { stopRun: { status: 'skipped', reason: `the report for ${context.businessDate} was already sent` } };
          const target = { kind: 'report', businessDate: context.businessDate } as const;
          // 'unknown' (ack lost) and a stale 'sending' are settled by the mailbox check in send_report when the
          // mailbox is readable; otherwise only a person can, and building first would only delay saying so.
          if ((state === 'unknown' || state === 'sending') && !mailboxDir(context.config)) {
            throw new ShopflowError(
              state === 'unknown' ? 'SHOPFLOW_DELIVERY_UNKNOWN' : 'SHOPFLOW_REPORT_CLAIM_STUCK',
              state === 'unknown'
                ? `the report for ${context.businessDate} went to the mail server but its acknowledgement was lost; look for Message-ID ` +
                    `${stableMessageId('report', context.businessDate)} in the mailbox, then: ${resolveCommand(target)}`
                : `the report for ${context.businessDate} was claimed by a process that never finished sending it; check the mailbox, then: ${resolveCommand(target)}`,
            );
          }
          const notes = {
            none: `no report sent yet for ${context.businessDate}`,
            failed: `an earlier send for ${context.businessDate} failed; sending again`,
            unknown: 'delivery unknown: the mailbox check decides',
            sending: 'claim left by a dead sender: the mailbox check decides',
          };
          return { outputTail: notes[state] };
        },
      },
      // Tests scoped to rows loaded since the nightly build that passed (scheduler/jobs/dbt-args.ts).
      dbtStep('dbt_build', async () => reportBuild(await deps.ledger.lastFinishedStep('nightly', NIGHTLY_BUILD_STEP)), deps, {
        coversAlertMarts: true,
      }),
      gateStep('raw', deps),
      gateStep('marts', deps),
      {
        name: 'check_gates',
        run: async (context) => {
          const gates = gatesOf(context);
          // The gate measures freshness from the data's own latest day; the report needs its business date covered.
          const dataDate = deps.operations.latestDataDate ? await deps.operations.latestDataDate() : undefined;
          const coverage = dataDate === undefined ? undefined : coverageGate(context.businessDate, dataDate);
          const failed = [...gates, ...(coverage ? [coverage] : [])].filter((g) => !g.success);
          if (failed.length === 0)
            return {
              outputTail: `all gates passed${dataDate && dataDate !== context.businessDate ? ` (data up to ${dataDate}, report for ${context.businessDate})` : ''}`,
            };
          await deps.operations.sendGateFailureAlert({
            businessDate: context.businessDate,
            gates: [...gates, ...(coverage ? [coverage] : [])],
            ...(dataDate !== undefined ? { dataDate } : {}),
          });
          const reason = `gate(s) ${failed.map((g) => (g === coverage ? 'coverage' : g.gate)).join(', ')} failed: no report for ${context.businessDate}; the gate-failure alert was sent`;
          return { stopRun: { status: 'blocked', reason } };
        },
      },
      {
        name: 'send_report',
        // Sending is exactly-once per business date inside sendReport; a retry after an SMTP error is safe.
        run: async (context) => {
          const outcome = await deps.operations.sendReport({
            businessDate: context.businessDate,
            runId: context.runId,
            gates: gatesOf(context),
            now: context.clock.now(),
          });
          const what = outcome.alreadySent ? 'already sent earlier' : outcome.sent ? 'sent' : 'not sent (dry run)';
          return {
            result: outcome,
            outputTail: `report for ${context.businessDate}: ${what}${outcome.htmlPath ? `, html ${outcome.htmlPath}` : ''}`,
          };
        },
      },
    ],
  };
}

/**
 * The marts must hold the business date the report is about: a report for a day the data does
 * not reach yet would show zeros as if nothing was sold. A failed check reads like a failed gate.
 */
export function coverageGate(businessDate: string, dataDate: string | null): GateOutcome | undefined {
  if (dataDate !== null && dataDate >= businessDate) return undefined;
  return {
    gate: 'marts',
    success: false,
    evaluated: 1,
    failed: 1,
    failures: [
      {
        suite: 'report_coverage',
        expectation: 'the marts hold the business date being reported',
        details:
          dataDate === null
            ? `marts.revenue_daily has no day with orders; the report is for ${businessDate}`
            : `the latest day with orders is ${dataDate}; the report is for ${businessDate}`,
      },
    ],
    summaryPath: '(scheduler coverage check)',
    dataDocsPath: null,
  };
}

export function buildJobs(deps: JobDependencies): Record<JobName, JobDefinition> {
  return {
    microbatch: {
      name: 'microbatch',
      alertWindow: 'hour',
      // Tests scoped to rows loaded since the last cycle that succeeded (scheduler/jobs/dbt-args.ts).
      steps: [
        dbtStep(
          'dbt_build',
          async () =>
            microbatchBuild(
              await deps.ledger.lastSucceededStep('microbatch', 'dbt_build'),
              await deps.ledger.lastFinishedStep('nightly', NIGHTLY_BUILD_STEP),
            ),
          deps,
          {
            coversAlertMarts: true,
          },
        ),
      ],
    },
    nightly: {
      name: 'nightly',
      alertWindow: 'run',
      steps: [
        dbtStep(NIGHTLY_BUILD_STEP, DBT_NIGHTLY_ARGS, deps, { coversAlertMarts: true }),
        // The forecast reads the marts the build just made; the forecast marts read what it wrote.
        {
          name: 'forecast',
          run: async (context) => {
            if (!deps.operations.forecast) return { outputTail: 'no forecaster in this pipeline' };
            return deps.operations.forecast(childOptions(context));
          },
        },
        dbtStep('dbt_build_forecast_marts', DBT_FORECAST_ARGS, deps, { coversAlertMarts: false }),
        // The raw gate reads row by row only what landed since it last passed; once a night it
        // reads every row, so a row that went wrong after it was checked is still found.
        {
          name: 'gate_raw_full',
          run: async (context) => {
            const summary = await deps.operations.gate('raw', childOptions(context), 'full');
            const tail = `raw gate full pass: ${summary.success ? 'passed' : 'FAILED'} (${summary.evaluated} expectations, ${summary.failed} failed)`;
            if (summary.success) return { result: summary, outputTail: tail };
            // Not retried: the same rows fail again. The run fails, which alerts; the morning's
            // raw gate runs full too until a full pass passes (great_expectations/window.ts).
            throw new FatalPipelineError(
              'SHOPFLOW_GATE_FULL_PASS_FAILED',
              `${tail}; fix or explain the rows, then npm run gate -- --gate raw --full (summary: ${summary.summaryPath ?? 'none'})`,
            );
          },
        },
        // After the full pass and the build: only days the gate vouched for and staging has read leave the warehouse.
        {
          name: 'archive_raw',
          run: async (context) => {
            if (!deps.operations.archiveRaw) return { outputTail: 'no raw retention in this pipeline' };
            return deps.operations.archiveRaw(childOptions(context));
          },
        },
      ],
    },
    report: reportJob(deps),
    lake_maintenance: {
      name: 'lake_maintenance',
      alertWindow: 'run',
      steps: [
        {
          name: 'iceberg_maintenance',
          run: async (context) => {
            if (!deps.operations.lakeMaintenance) return { outputTail: 'no lakehouse in this pipeline' };
            return deps.operations.lakeMaintenance(childOptions(context));
          },
        },
      ],
    },
    alerts: {
      name: 'alerts',
      alertWindow: 'hour',
      steps: [
        {
          name: 'refresh_alert_marts',
          run: async (context) => {
            const checkFrom = context.clock.now();
            return deps.dbtMutex.run(async () => {
              // Waiting for the mutex may have let a full build refresh the marts after this run began.
              if (deps.freshness.builtSince(checkFrom))
                return { outputTail: 'alert marts already refreshed by a build that started after this check was due' };
              const { outputTail } = await deps.operations.dbt(DBT_ALERT_ARGS, childOptions(context));
              deps.freshness.markBuilt(checkFrom);
              return { outputTail };
            }, context.signal);
          },
        },
        {
          name: 'send_alerts',
          run: async (context) => {
            const summary = await checkOperationalAlerts(context, deps.facts, deps.operations, deps.alertLookbackMs);
            return {
              result: summary,
              outputTail: `fraud alerts sent: ${summary.fraudSent}, low-stock alerts sent: ${summary.lowStockSent}, already sent: ${summary.alreadySent}, queued (SMTP down): ${summary.queued}`,
            };
          },
        },
      ],
    },
  };
}
