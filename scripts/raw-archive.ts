/** `npm run raw:archive`: old load days of raw.shop_events to Parquet, verified, then dropped (lib/warehouse/archive/). */
import { parseArgs } from 'node:util';

import { EXIT } from '../lib/cli/exit-codes.ts';
import { assertPortAnswers } from '../lib/cli/preflight.ts';
import { runCli } from '../lib/cli/run.ts';
import { UsageError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { archiveDir, archiveRaw } from '../lib/warehouse/archive/index.ts';

const HELP = `Usage: npm run raw:archive -- [--dry-run] [--json]

Archives the load days of raw.shop_events older than RAW_RETENTION_DAYS: each day is written to
a Parquet file (zstd) under RAW_ARCHIVE_DIR/raw/shop_events/load_day=YYYY-MM-DD/, read back and
compared with the warehouse (row count and key hash), described by a manifest.json beside it
(rows, key hash, SHA-256), and only then detached and dropped. A day staging has not read past
yet is kept. A recent load day holding a backfill's old events (at least 100,000 before the
first of the cutoff's month) leaves by a slice: those events are archived the same way, into
shop_events-events-before-YYYY-MM-DD.parquet beside its manifest, and the day's partition is
rewritten without them. The nightly scheduler job runs this after the raw gate's full pass.
Bring days back with npm run raw:rehydrate (docs/operations.md#raw-retention).

Flags:
  --dry-run       list the days that would be archived (and those held back), change nothing
  --json          print the result as JSON
  -V, --version   print the version
  -h, --help      show this help

Environment: RAW_RETENTION_DAYS (0: keep every day, nothing to do), RAW_ARCHIVE_DIR,
WAREHOUSE_URL (as the superuser: dropping a partition needs its owner), PYTHON_VENV, LOG_LEVEL.`;

await runCli({
  name: 'raw:archive',
  help: HELP,
  async main(argv, context) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: { 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const config = context.config();
    const logger = createLogger('raw-archive', config);
    if (config.RAW_RETENTION_DAYS === 0) {
      process.stdout.write('raw:archive: RAW_RETENTION_DAYS is 0 (keep every day): nothing to do\n');
      return EXIT.ok;
    }
    await assertPortAnswers(config.WAREHOUSE_URL, 5432, 'the Postgres warehouse');
    const result = await archiveRaw(config, { logger, dryRun: values['dry-run'] });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return EXIT.ok;
    }
    const verb = values['dry-run'] ? 'would archive' : 'archived';
    process.stdout.write(
      `raw.shop_events: load days before ${result.plan.cutoff} are due (RAW_RETENTION_DAYS=${config.RAW_RETENTION_DAYS})\n`,
    );
    const done: { loadDay: string; eventsBefore?: string; rows?: number; bytes?: number }[] = values['dry-run']
      ? [
          ...result.plan.days.map((day) => ({ loadDay: day })),
          ...result.plan.slices.map((slice) => ({ loadDay: slice.day, eventsBefore: slice.eventsBefore, rows: slice.rows })),
        ]
      : result.archived;
    for (const day of done) {
      const what = day.eventsBefore === undefined ? day.loadDay : `${day.loadDay}, its events before ${day.eventsBefore.slice(0, 10)}`;
      const size = day.rows === undefined ? '' : `: ${day.rows} rows${day.bytes === undefined ? '' : `, ${day.bytes} bytes`}`;
      process.stdout.write(`  ${verb} ${what}${size}\n`);
    }
    for (const held of result.plan.held) process.stdout.write(`  kept ${held.day}: ${held.reason}\n`);
    if (done.length === 0 && result.plan.held.length === 0) process.stdout.write('  nothing due\n');
    else process.stdout.write(`  archive: ${archiveDir(config)}\n`);
    return EXIT.ok;
  },
});
