/**
 * Stand-in pipeline operations for scheduler tests: dbt and the gates take a configurable time
 * and can be made to fail on chosen calls; alerts and reports are claimed by a unique row in
 * ops.alerts_sent / ops.reports_sent, as the real senders do (without SMTP).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type pg from 'pg';

import { ProcessFailedError } from '../../../lib/errors.ts';
import type { GateOutcome, PipelineOperations } from '../../../scheduler/operations.ts';

export interface FakeOperationsOptions {
  pool: pg.Pool;
  dbtMs?: number;
  gateMs?: number;
  /** dbt call numbers (1-based) that fail. */
  failDbtCalls?: number[];
  /** Every dbt call fails. */
  dbtAlwaysFails?: boolean;
  gatesPass?: boolean;
  /** Simulated duration of each dbt call, by its arguments (overrides dbtMs). */
  dbtMsFor?: (args: string[]) => number;
  /** Clock whose time is recorded when an alert is sent. */
  clock?: { now(): Date };
}

export interface FakeOperations extends PipelineOperations {
  dbtCalls: string[][];
  /** Per dbt call, the load time its scoped tests start from (undefined: as its args say). */
  dbtTestLoadedSince: (string | undefined)[];
  gateCalls: { gate: 'raw' | 'marts'; scope: 'incremental' | 'full' | undefined }[];
  alerts: { key: string; kind: string; subject: string; text: string; sentAt?: Date }[];
  reports: string[];
}

export function fakeOperations(options: FakeOperationsOptions): FakeOperations {
  const dbtCalls: string[][] = [];
  const dbtTestLoadedSince: (string | undefined)[] = [];
  const gateCalls: FakeOperations['gateCalls'] = [];
  const alerts: FakeOperations['alerts'] = [];
  const reports: string[] = [];
  return {
    dbtCalls,
    dbtTestLoadedSince,
    gateCalls,
    alerts,
    reports,
    async dbt(args, run) {
      dbtCalls.push(args);
      dbtTestLoadedSince.push(run.testLoadedSince);
      const call = dbtCalls.length;
      run.onLine(`dbt ${args.join(' ')} (call ${call})`);
      await sleep(options.dbtMsFor?.(args) ?? options.dbtMs ?? 10, undefined, { signal: run.signal });
      if (options.dbtAlwaysFails || options.failDbtCalls?.includes(call)) {
        run.onLine('Database Error in model stg_shop__orders: relation "raw.shop_changes" is locked');
        throw new ProcessFailedError(`dbt ${args.join(' ')}`, 1, null, 'Database Error in model stg_shop__orders');
      }
      return { outputTail: `Completed successfully (call ${call})` };
    },
    async gate(gate, run, scope) {
      gateCalls.push({ gate, scope });
      await sleep(options.gateMs ?? 5, undefined, { signal: run.signal });
      const success = options.gatesPass ?? true;
      return {
        gate,
        success,
        evaluated: 10,
        failed: success ? 0 : 1,
        failures: success ? [] : [{ expectation: 'expect_column_values_to_not_be_null' }],
      } satisfies GateOutcome;
    },
    async sendReport(input) {
      // The production claim: a unique row per business date decides who sends.
      const claimed = await options.pool.query(
        `insert into ops.reports_sent (business_date, run_id, recipients, status, sent_at) values ($1, $2, 'test', 'sent', now())
         on conflict (business_date) do nothing`,
        [input.businessDate, input.runId],
      );
      if (claimed.rowCount === 1) reports.push(input.businessDate);
      return { sent: claimed.rowCount === 1, alreadySent: claimed.rowCount === 0 };
    },
    async sendGateFailureAlert(input) {
      alerts.push({ key: `gate_failed:${input.businessDate}`, kind: 'gate_failed', subject: 'gate failed', text: '' });
      return true;
    },
    async sendAlert(alert) {
      const claimed = await options.pool.query(
        `insert into ops.alerts_sent (alert_key, kind, subject, status, sent_at) values ($1, $2, $3, 'sent', now()) on conflict (alert_key) do nothing`,
        [alert.key, alert.kind, alert.subject],
      );
      if (claimed.rowCount === 1) alerts.push({ ...alert, ...(options.clock ? { sentAt: options.clock.now() } : {}) });
      return claimed.rowCount === 1;
    },
  };
}
