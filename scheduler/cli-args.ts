/** Flags of `npm run scheduler`, checked before anything connects or writes. */
import { parseArgs } from 'node:util';

import { UsageError } from '../lib/errors.ts';
import { JOB_NAMES, type JobName } from './job.ts';
import { isIsoDate } from './schedule.ts';

export const HELP = `Usage: npm run scheduler -- [flags]

Runs the ShopFlow scheduler: supervises the ingestors, runs dbt every MICROBATCH_MINUTES and
nightly with snapshots, and at REPORT_CRON builds, gates and mails the report. Only one
scheduler is active at a time (Postgres advisory lock); start a second one for failover.

Flags:
  --once JOB          run one job now and exit: ${JOB_NAMES.join(', ')}
  --date YYYY-MM-DD   business date for --once (default: yesterday in SCHEDULER_TZ for report,
                      the day the figures cover; today for the other jobs; database time)
  --jobs LIST         comma list of jobs the daemon schedules (default: all)
  --no-ingestors      do not supervise the ingestors (overrides SCHEDULER_INGESTORS)
  -h, --help          show this help

Exit status: 0 done (or, with --once, succeeded or nothing to do), 1 failed (a --once report
withheld by a failed data quality gate too), 2 bad flags or configuration, 69 a service is
unreachable (docs/operations.md#exit-codes).

Environment (defaults in .env.example):
  WAREHOUSE_URL, WAREHOUSE_OPS_PASSWORD    the ledger, as role ops_writer
  WAREHOUSE_BI_PASSWORD                    alert facts from the marts, as bi_reader
  WAREHOUSE_TRANSFORMER_PASSWORD           dbt, as transformer
  SCHEDULER_TZ                             time zone of the cron expressions (default UTC)
  REPORT_CRON, NIGHTLY_CRON                report time (0 8 * * *), nightly build (0 2 * * *)
  MICROBATCH_MINUTES                       micro-batch dbt build interval (15)
  SCHEDULER_INGESTORS                      ingestors to supervise: kafka,cdc,files,api or none
  SCHEDULER_STEP_ATTEMPTS                  attempts per step before alerting (3)
  SCHEDULER_RETRY_MAX_MS                   cap of the backoff between attempts (60000)
  SCHEDULER_STANDBY_POLL_MS                how often a standby tries the leader lock (5000)
  SMTP_URL, REPORT_FROM, REPORT_TO, ALERT_TO   mail
  SMTP_TIMEOUT_MS                          wait for the server's reply; past it after DATA a send is 'unknown' (30000)
  SMTP_MAILBOX_DIR                         where to look for a sent Message-ID to settle 'unknown' (local sink)
  PYTHON_VENV                              venv with dbt and Great Expectations
  SHOPFLOW_DATA_DIR                        step logs go to <data dir>/logs/scheduler
  LOG_LEVEL                                pino log level (info)
`;

export interface SchedulerArgs {
  help: boolean;
  once?: JobName;
  date?: string;
  jobs?: JobName[];
  ingestors: boolean;
}

function isJob(value: string): value is JobName {
  return (JOB_NAMES as readonly string[]).includes(value);
}

export function parseSchedulerArgs(argv: string[]): SchedulerArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        once: { type: 'string' },
        date: { type: 'string' },
        jobs: { type: 'string' },
        'no-ingestors': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nRun with --help for the flags.`);
  }
  if (values.help) return { help: true, ingestors: true };
  if (values.once !== undefined && !isJob(values.once)) {
    throw new UsageError(`--once must be one of ${JOB_NAMES.join(', ')}; you gave "${values.once}"`);
  }
  if (values.date !== undefined) {
    if (values.once === undefined) throw new UsageError('--date only applies with --once (e.g. --once report --date 2024-05-02)');
    if (!isIsoDate(values.date)) throw new UsageError(`--date must be a calendar date YYYY-MM-DD; you gave "${values.date}"`);
  }
  let jobs: JobName[] | undefined;
  if (values.jobs !== undefined) {
    if (values.once !== undefined) throw new UsageError('--jobs applies to the daemon, not to --once');
    const names = values.jobs
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !isJob(n));
    if (names.length === 0 || unknown.length > 0)
      throw new UsageError(`--jobs takes a comma list of ${JOB_NAMES.join(', ')}; unknown: ${unknown.join(', ') || '(empty list)'}`);
    jobs = names as JobName[];
  }
  return {
    help: false,
    ...(values.once !== undefined ? { once: values.once as JobName } : {}),
    ...(values.date !== undefined ? { date: values.date } : {}),
    ...(jobs ? { jobs } : {}),
    ingestors: !values['no-ingestors'],
  };
}
