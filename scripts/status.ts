/** `npm run status`: health at a glance (scripts/status/). */
import { parseArgs } from 'node:util';

import { EXIT } from '../lib/cli/exit-codes.ts';
import { runCli } from '../lib/cli/run.ts';
import { UsageError } from '../lib/errors.ts';
import { collectStatus, formatStatus } from './status/index.ts';

const HELP = `Usage: npm run status -- [flags]

One screen on the whole installation: each service (up, version, address), each ingestor
(running, lag, last batch, dead letters today), the last dbt run and its failures, the last
gate result, the last and next report, and what to do about anything red.

Flags:
  --json          print the report as one JSON object (for scripts and monitors)
  -V, --version   print the version
  -h, --help      show this help

Environment: the same as every command (.env.example): WAREHOUSE_URL and
WAREHOUSE_TRANSFORMER_PASSWORD (read as role transformer), SHOP_DB_URL, KAFKA_BROKERS,
KAFKA_TOPIC, KAFKA_GROUP_ID, SMTP_URL, SUPERSET_PORT, REPORT_CRON, SCHEDULER_TZ.

Exit status: 0 all good, 1 something needs attention, 2 usage or configuration error,
69 a service is unreachable (docs/operations.md#exit-codes).`;

await runCli({
  name: 'status',
  help: HELP,
  async main(argv, context) {
    let json: boolean;
    try {
      json = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, strict: true, allowPositionals: false }).values
        .json;
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const report = await collectStatus(context.config());
    process.stdout.write(json ? `${JSON.stringify(report)}\n` : formatStatus(report, { colour: process.stdout.isTTY === true }));
    if (report.serviceDown) return EXIT.unavailable;
    return report.overall === 'ok' ? EXIT.ok : EXIT.failed;
  },
});
