/**
 * The operations the scheduler's jobs are made of (dbt, the Great Expectations gates, the report,
 * alert mail). Jobs depend on this interface, not on the implementations, so tests can inject
 * fast stand-ins while keeping the scheduling, locking, ledger and exactly-once logic real.
 * scheduler/pipeline.ts wires the real implementations.
 */
import type { Logger } from '../lib/logger.ts';
import type { AlertInput } from '../lib/mail/alert.ts';

export interface ChildRunOptions {
  /** ops.runs.run_id of the run this belongs to. */
  runId: string;
  signal: AbortSignal;
  logger: Logger;
  onLine: (line: string) => void;
}

export interface GateOutcome {
  gate: 'raw' | 'marts';
  success: boolean;
  evaluated: number;
  failed: number;
  failures: unknown[];
  summaryPath?: string;
  dataDocsPath?: string | null;
}

export interface ReportOutcome {
  sent: boolean;
  alreadySent: boolean;
  htmlPath?: string;
  messageId?: string;
}

/** An operational alert, as lib/mail sends it (exactly once per key). */
export type { AlertInput };

export interface PipelineOperations {
  /** `dbt <args>` in dbt/; resolves with the output tail, throws ProcessFailedError on failure. */
  /** testLoadedSince: the scoped data tests check rows loaded since then (scheduler/jobs/dbt-args.ts DbtBuild). */
  dbt(args: string[], options: ChildRunOptions & { testLoadedSince?: string }): Promise<{ outputTail: string }>;
  /** `scope` (raw gate): 'full' checks every row (the nightly pass), else only what landed since the last passed run. */
  gate(gate: 'raw' | 'marts', options: ChildRunOptions, scope?: 'incremental' | 'full'): Promise<GateOutcome>;
  /** `npm run forecast`'s work (forecast/run.ts): tomorrow's 14-day forecasts into marts.demand_forecast; absent in stand-ins. */
  forecast?(options: ChildRunOptions): Promise<{ outputTail: string }>;
  /** Raw retention (lib/warehouse/archive/): due load days to Parquet, then dropped; absent in stand-ins. */
  archiveRaw?(options: ChildRunOptions): Promise<{ outputTail: string }>;
  /** `npm run lake -- maintain`'s work: compact small files, expire old snapshots of every Iceberg table; absent in stand-ins. */
  lakeMaintenance?(options: ChildRunOptions): Promise<{ outputTail: string }>;
  /** Sends the report for a business date, exactly once per date (ops.reports_sent). */
  sendReport(input: { businessDate: string; runId: string; gates: GateOutcome[]; now: Date }): Promise<ReportOutcome>;
  /** `dataDate`: the latest day the marts hold, named in the alert when it differs from the business date. */
  sendGateFailureAlert(input: { businessDate: string; gates: GateOutcome[]; dataDate?: string | null }): Promise<unknown>;
  /** The latest day with orders in the marts (what the gate's freshness checks measure from); absent in stand-ins. */
  latestDataDate?(): Promise<string | null>;
  /** Sends an alert exactly once per key (ops.alerts_sent); resolves `false` when the key was already sent. */
  sendAlert(alert: AlertInput): Promise<boolean>;
  /** Records an alert in the outbox without trying SMTP now (SMTP is down); `false` when the key is already known. */
  queueAlert?(alert: AlertInput): Promise<boolean>;
  /** Retries undelivered alerts whose backoff has passed (the alert outbox); absent in stand-ins without SMTP. */
  flushAlerts?(): Promise<{ delivered: number; failed: number; unknown: number; expired: number }>;
}
