/**
 * Morning report and gate-failure alert, delivered exactly once through lib/mail's claim ->
 * send -> mark protocol (ops.reports_sent / ops.alerts_sent). A minimal text report used until
 * report/send.ts (sendDailyReport, sendGateFailureAlert) is available.
 */
import type { Config } from '../lib/config/index.ts';
import { roleUrl } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import { deliverOnce, sendAlert, stableMessageId } from '../lib/mail/index.ts';
import { createPool } from '../lib/pg/pool.ts';
import type { GateSummary } from '../great_expectations/run.ts';
import type { ReportOutcome } from './operations.ts';

export async function sendReportEmail(config: Config, input: { businessDate: string; runId: string; gates: GateSummary[] }, logger: Logger): Promise<ReportOutcome> {
  const pool = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-scheduler-report', max: 1, logger });
  try {
    const gateLines = input.gates.map((g) => `  ${g.gate}: ${g.success ? 'passed' : 'FAILED'} (${g.evaluated} expectations)`);
    const result = await deliverOnce(
      config,
      pool,
      { kind: 'report', businessDate: input.businessDate },
      {
        from: config.REPORT_FROM,
        to: config.REPORT_TO,
        subject: `ShopFlow daily report ${input.businessDate}`,
        text: [`ShopFlow daily report for ${input.businessDate}.`, '', 'Data quality gates:', ...gateLines, '', `Run: ${input.runId}`].join('\n'),
        messageId: stableMessageId('report', input.businessDate),
      },
      { logger, runId: input.runId },
    );
    return { sent: result.sent, alreadySent: result.alreadySent, ...(result.messageId ? { messageId: result.messageId } : {}) };
  } finally {
    await pool.end();
  }
}

export async function sendGateFailureEmail(config: Config, input: { businessDate: string; gates: GateSummary[] }, logger: Logger): Promise<boolean> {
  const failed = input.gates.filter((g) => !g.success);
  const lines = failed.flatMap((g) => [`${g.gate} gate: ${g.failed} of ${g.evaluated} expectations failed (summary: ${g.summaryPath})`, ...g.failures.slice(0, 20).map((f) => `  - ${f.suite} ${f.expectation}${f.column ? ` on ${f.column}` : ''}: ${f.details}`)]);
  const result = await sendAlert(
    config,
    {
      key: `gate_failed:${input.businessDate}:${failed.map((g) => g.gate).join('+')}`,
      kind: 'gate_failed',
      subject: `ShopFlow: data quality gate failed, no report for ${input.businessDate}`,
      text: [`The data quality gate failed; the report for ${input.businessDate} was not sent.`, '', ...lines].join('\n'),
    },
    { logger },
  );
  return result.sent;
}
