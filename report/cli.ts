/**
 * npm run report -- [--date YYYY-MM-DD] [--dry-run] [--skip-gate] [--release]
 * Runs the quality gate, then renders the daily report from the marts, saves it under
 * out/reports/<date>.html and (unless --dry-run) mails it once per business date.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { runCli, type CliContext } from '../lib/cli/run.ts';
import { roleUrl } from '../lib/config/index.ts';
import { ShopflowError, UsageError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { releaseStuckClaim } from '../lib/mail/ledger.ts';
import { createPool } from '../lib/pg/pool.ts';
import { runGate } from '../great_expectations/run.ts';
import type { GateSummary } from '../great_expectations/summary.ts';
import { isIsoDate } from './format.ts';
import { latestBusinessDate } from './queries.ts';
import { sendDailyReport } from './send.ts';

const HELP = `Usage: npm run report -- [options]

Runs the data quality gate (raw and marts), renders the daily report for one business date
from the marts (as role bi_reader), saves it as out/reports/<date>.html (charts embedded, opens
standalone) and mails it to REPORT_TO exactly once per business date. If a gate fails, the
report is withheld and an alert listing the failed expectations goes to ALERT_TO instead.

Options:
  --date YYYY-MM-DD   business date to report on (default: the latest date with orders)
  --dry-run           render and save the HTML only; mail nothing, record nothing
  --skip-gate         do not run the gate first (only with --dry-run)
  --run-id UUID       scheduler run this belongs to (stored with the ledger rows)
  --release           release a delivery claim left 'sending' by a crashed run for --date,
                      after checking the mailbox that it did not arrive; then exit
  -h, --help          show this help

Environment:
  WAREHOUSE_URL, WAREHOUSE_BI_PASSWORD, WAREHOUSE_OPS_PASSWORD, WAREHOUSE_TRANSFORMER_PASSWORD
  SMTP_URL, REPORT_FROM, REPORT_TO, ALERT_TO, PYTHON_VENV, LOG_LEVEL

Exit status: 0 report rendered (and sent or already sent), 1 withheld by a failed gate or could
not render or send, 2 usage or configuration error (a refused password too), 69 the warehouse
or SMTP server is unreachable (docs/operations.md#exit-codes).`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Args {
  date?: string;
  dryRun: boolean;
  skipGate: boolean;
  runId?: string;
  release: boolean;
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
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (values.date !== undefined && !isIsoDate(values.date)) throw new UsageError(`--date must be a real date as YYYY-MM-DD (got ${JSON.stringify(values.date)})`);
  if (values['skip-gate'] && !values['dry-run']) throw new UsageError('--skip-gate is only allowed with --dry-run: a mailed report must have passed the gate');
  if (values['run-id'] !== undefined && !UUID.test(values['run-id'])) throw new UsageError(`--run-id must be a UUID (got ${JSON.stringify(values['run-id'])})`);
  if (values.release && !values.date) throw new UsageError('--release needs --date');
  return {
    ...(values.date ? { date: values.date } : {}),
    dryRun: values['dry-run'],
    skipGate: values['skip-gate'],
    ...(values['run-id'] ? { runId: values['run-id'] } : {}),
    release: values.release,
  };
}

async function main(argv: string[], context: CliContext): Promise<number> {
  const args = parseReportArgs(argv);
  if (args === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const config = context.config();
  const logger = createLogger('report', config);

  if (args.release) {
    const ops = createPool({ connectionString: roleUrl(config, 'ops_writer'), applicationName: 'shopflow-report-cli', max: 1, logger });
    try {
      const released = await releaseStuckClaim(ops, { kind: 'report', businessDate: args.date! });
      process.stdout.write(released ? `released the claim for ${args.date}; the next run sends the report\n` : `no claim in 'sending' for ${args.date}\n`);
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
    if (!businessDate) throw new ShopflowError('SHOPFLOW_REPORT_NO_DATA', 'marts.revenue_daily has no day with orders: build the marts first (npm run dbt -- build)');
  }

  const gates: GateSummary[] = [];
  if (!args.skipGate) {
    for (const gate of ['raw', 'marts'] as const) gates.push(await runGate(config, gate, { logger, ...(args.runId ? { runId: args.runId } : {}) }));
  }
  const result = await sendDailyReport(config, { businessDate, gates, dryRun: args.dryRun, ...(args.runId ? { runId: args.runId } : {}) }, { logger });
  const what = result.blocked ? 'WITHHELD (gate failed; alert sent instead)' : result.sent ? 'sent' : result.alreadySent ? 'already sent earlier, not sent again' : 'rendered (dry run, not sent)';
  process.stdout.write(`report ${businessDate}: ${what}\n  ${result.htmlPath}\n${result.messageId ? `  message-id ${result.messageId}\n` : ''}`);
  return result.blocked ? 1 : 0;
}

// Imported by tests for parseReportArgs: run only as the entry point.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runCli({ name: 'report', help: HELP, main });
