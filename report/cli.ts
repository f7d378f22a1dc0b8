/**
 * npm run report -- [--date YYYY-MM-DD] [--dry-run] [--skip-gate] [--resolve sent|resend]
 * Runs the quality gate (or reuses its result for the same data), then renders the daily report from the marts, saves it under
 * out/reports/<date>.html and (unless --dry-run) mails it once per business date.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { runCli, type CliContext } from '../lib/cli/run.ts';
import { roleUrl, type Config } from '../lib/config/index.ts';
import { ShopflowError, UsageError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { readLedgerRow, resolveDelivery, type DeliveryTarget, type Resolution } from '../lib/mail/ledger.ts';
import { createPool } from '../lib/pg/pool.ts';
import { reuseOrRunGate } from '../great_expectations/run.ts';
import type { GateSummary } from '../great_expectations/summary.ts';
import { isIsoDate } from './format.ts';
import { latestBusinessDate } from './queries.ts';
import { sendDailyReport, type SendDailyReportResult } from './send.ts';

const HELP = `Usage: npm run report -- [options]

Runs the data quality gate (raw and marts), or reuses its recorded result when the same data
was already checked (the 08:00 job's gates, say: great_expectations/data-version.ts), and says
which; then renders the daily report for one business date
from the marts (as role bi_reader), saves it as out/reports/<date>.html (charts embedded, opens
standalone) and mails it to REPORT_TO exactly once per business date. If a gate fails, the
report is withheld and an alert listing the failed expectations goes to ALERT_TO instead.

Options:
  --date YYYY-MM-DD   business date to report on (default: the latest date with orders)
  --dry-run           render and save the HTML only; mail nothing, record nothing
  --skip-gate         do not run the gate first (only with --dry-run)
  --run-id UUID       scheduler run this belongs to (stored with the ledger rows)
  --resolve sent|resend
                      settle a delivery whose outcome is unknown (ledger status 'unknown',
                      or 'sending' left by a crashed run) for --date (or --alert KEY), after
                      looking for its Message-ID in the mailbox: 'sent' if it arrived,
                      'resend' if it did not (the next run, or the scheduler later today,
                      sends it once more); then exit. docs/report.md explains.
  --alert KEY         with --resolve: settle the alert with this key instead of a report
  --release           same as --resolve resend (kept for old runbooks)
  -h, --help          show this help

Environment:
  WAREHOUSE_URL, WAREHOUSE_BI_PASSWORD, WAREHOUSE_OPS_PASSWORD, WAREHOUSE_TRANSFORMER_PASSWORD
  SMTP_URL, SMTP_TIMEOUT_MS, SMTP_MAILBOX_DIR, REPORT_FROM, REPORT_TO, ALERT_TO, PYTHON_VENV, LOG_LEVEL

Exit status: 0 report rendered (and sent or already sent), 1 withheld by a failed gate or could
not render or send, 2 usage or configuration error (a refused password too), 69 the warehouse
or SMTP server is unreachable (docs/operations.md#exit-codes).`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Args {
  date?: string;
  dryRun: boolean;
  skipGate: boolean;
  runId?: string;
  resolve?: Resolution;
  alert?: string;
}

export function parseReportArgs(argv: string[]): Args | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        date: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'skip-gate': { type: 'boolean', default: false },
        'run-id': { type: 'string' },
        release: { type: 'boolean', default: false },
        resolve: { type: 'string' },
        alert: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values.date !== undefined && !isIsoDate(values.date))
    throw new UsageError(`--date must be a real date as YYYY-MM-DD (got ${JSON.stringify(values.date)})`);
  if (values['skip-gate'] && !values['dry-run'])
    throw new UsageError('--skip-gate is only allowed with --dry-run: a mailed report must have passed the gate');
  if (values['run-id'] !== undefined && !UUID.test(values['run-id']))
    throw new UsageError(`--run-id must be a UUID (got ${JSON.stringify(values['run-id'])})`);
  const resolve = values.release ? 'resend' : values.resolve;
  if (values.release && values.resolve !== undefined) throw new UsageError('--release is --resolve resend: give one of them');
  if (resolve !== undefined && resolve !== 'sent' && resolve !== 'resend')
    throw new UsageError(`--resolve takes sent or resend (got ${JSON.stringify(resolve)})`);
  if (resolve !== undefined && !values.date === !values.alert)
    throw new UsageError(`--resolve needs exactly one of --date (a report) or --alert KEY (an alert)`);
  if (values.alert !== undefined && resolve === undefined) throw new UsageError('--alert only applies with --resolve');
  return {
    ...(values.date ? { date: values.date } : {}),
    dryRun: values['dry-run'],
    skipGate: values['skip-gate'],
    ...(values['run-id'] ? { runId: values['run-id'] } : {}),
    ...(resolve ? { resolve } : {}),
    ...(values.alert ? { alert: values.alert } : {}),
  };
}

/** What happened, in words that never claim a mail a dry run did not send. */
export function describeOutcome(
  result: Pick<SendDailyReportResult, 'blocked' | 'sent' | 'alreadySent'>,
  dryRun: boolean,
  config: Pick<Config, 'REPORT_TO' | 'ALERT_TO'>,
): string {
  if (result.blocked) {
    return dryRun
      ? `WITHHELD (gate failed); alert not sent (dry run), would send it to ${config.ALERT_TO}`
      : `WITHHELD (gate failed); the gate-failure alert went to ${config.ALERT_TO} (once per date)`;
  }
  if (dryRun) return `rendered, not sent (dry run); would send to ${config.REPORT_TO}`;
  if (result.sent) return `sent to ${config.REPORT_TO}`;
  return result.alreadySent ? 'already sent earlier, not sent again' : 'rendered, not sent';
}

async function main(argv: string[], context: CliContext): Promise<number> {
  const args = parseReportArgs(argv);
  if (args === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const config = context.config();
  const logger = createLogger('report', config);

  if (args.resolve) {
    const ops = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-report-cli', max: 1, logger });
    try {
      const target: DeliveryTarget = args.alert
        ? { kind: 'alert', alertKey: args.alert, alertKind: '', subject: '', details: {} }
        : { kind: 'report', businessDate: args.date! };
      const what = args.alert ? `alert ${args.alert}` : `the report for ${args.date}`;
      const row = await readLedgerRow(ops, target);
      const note = args.resolve === 'sent' ? 'operator: found in the mailbox' : 'operator: not in the mailbox, send again';
      if (!(await resolveDelivery(ops, target, args.resolve, note))) {
        process.stdout.write(
          `${what} is ${row ? `'${row.status}'` : 'not in the ledger'}: nothing to settle (only 'unknown' or 'sending' rows are)\n`,
        );
        return row ? 0 : 2;
      }
      process.stdout.write(
        args.resolve === 'sent'
          ? `${what}: recorded as sent; it will not be sent again\n`
          : `${what}: released; ${args.alert ? "the scheduler's alert outbox sends it" : `the scheduler sends it later today, or run now: npm run report -- --date ${args.date}`}\n`,
      );
      return 0;
    } finally {
      await ops.end();
    }
  }

  let businessDate = args.date;
  if (!businessDate) {
    const marts = createPool({ connectionString: roleUrl(config, 'bi_reader'), applicationName: 'shopflow-report-cli', max: 1, logger });
    try {
      businessDate = (await latestBusinessDate(marts)) ?? undefined;
    } finally {
      await marts.end();
    }
    if (!businessDate)
      throw new ShopflowError(
        'SHOPFLOW_REPORT_NO_DATA',
        'marts.revenue_daily has no day with orders: build the marts first (npm run dbt -- build)',
      );
  }

  const gates: GateSummary[] = [];
  if (!args.skipGate) {
    for (const gate of ['raw', 'marts'] as const) {
      const summary = await reuseOrRunGate(config, gate, { logger, ...(args.runId ? { runId: args.runId } : {}) });
      gates.push(summary);
      process.stdout.write(
        summary.reusedFrom
          ? `gate ${gate}: ${summary.success ? 'passed' : 'FAILED'}, reused from ${summary.reusedFrom} (the same data was already checked; not run again)\n`
          : `gate ${gate}: ${summary.success ? 'passed' : 'FAILED'} (run now)\n`,
      );
    }
  }
  const result = await sendDailyReport(
    config,
    { businessDate, gates, dryRun: args.dryRun, ...(args.runId ? { runId: args.runId } : {}) },
    { logger },
  );
  const what = describeOutcome(result, args.dryRun, config);
  process.stdout.write(
    `report ${businessDate}: ${what}\n  ${result.htmlPath}\n${result.messageId ? `  message-id ${result.messageId}\n` : ''}`,
  );
  return result.blocked ? 1 : 0;
}

// Imported by tests for parseReportArgs: run only as the entry point.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runCli({ name: 'report', help: HELP, main });
