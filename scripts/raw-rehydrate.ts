/** `npm run raw:rehydrate`: archived load days of raw.shop_events back into the warehouse (lib/warehouse/archive/). */
import { parseArgs } from 'node:util';

import { EXIT } from '../lib/cli/exit-codes.ts';
import { assertPortAnswers } from '../lib/cli/preflight.ts';
import { runCli } from '../lib/cli/run.ts';
import { UsageError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { archiveDir, rehydrateRaw } from '../lib/warehouse/archive/index.ts';

const HELP = `Usage: npm run raw:rehydrate -- --from YYYY-MM-DD --to YYYY-MM-DD [--dry-run]

Restores the load days of raw.shop_events archived by npm run raw:archive, from --from to --to
(inclusive, UTC load days), from RAW_ARCHIVE_DIR. Each day goes back into its own partition in
one transaction, committed only when the rows restored match its manifest (row count and key
hash) and the file's SHA-256 is the manifest's. A day that still has rows in the warehouse is
refused, so nothing is restored twice. A day archived in slices (a backfill's old events, by
event time) gets each slice back the same way, after its whole-day file if it has one; a slice
whose events the warehouse still holds is refused. The rows keep their load times and Kafka
offsets: the incremental models do not read them again; a full refresh of staging does
(docs/operations.md#raw-retention). The archive files stay.

Flags:
  --from DAY      first load day to restore
  --to DAY        last load day to restore (default: --from)
  --dry-run       list the archived days in the range, change nothing
  -V, --version   print the version
  -h, --help      show this help

Environment: RAW_ARCHIVE_DIR, WAREHOUSE_URL (as the superuser), PYTHON_VENV, LOG_LEVEL.`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

await runCli({
  name: 'raw:rehydrate',
  help: HELP,
  async main(argv, context) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: { from: { type: 'string' }, to: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const from = values.from;
    const to = values.to ?? from;
    if (!from || !DAY.test(from) || !to || !DAY.test(to))
      throw new UsageError(`--from (and --to) must be load days as YYYY-MM-DD (got ${JSON.stringify(values.from ?? null)})`);
    if (to < from) throw new UsageError(`--to (${to}) is before --from (${from})`);
    const config = context.config();
    const logger = createLogger('raw-rehydrate', config);
    await assertPortAnswers(config.WAREHOUSE_URL, 5432, 'the Postgres warehouse');
    const restored = await rehydrateRaw(config, from, to, { logger, dryRun: values['dry-run'] });
    const verb = values['dry-run'] ? 'would restore' : 'restored';
    for (const day of restored) {
      const what = day.eventsBefore === undefined ? day.loadDay : `${day.loadDay}, its events before ${day.eventsBefore.slice(0, 10)}`;
      process.stdout.write(`${verb} ${what}: ${day.rows} rows\n`);
    }
    if (restored.length === 0) process.stdout.write(`no archived load day from ${from} to ${to} under ${archiveDir(config)}\n`);
    return EXIT.ok;
  },
});
