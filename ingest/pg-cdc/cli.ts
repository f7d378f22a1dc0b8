/**
 * `npm run ingest:pg-cdc`: capture the shop on Postgres (SHOP_PG_URL) into the typed change log
 * raw_shop.<table>, through logical replication. Thin entry: flags, config, signals, exit status.
 */
import { parseArgs } from 'node:util';

import { runCli } from '../../lib/cli/run.ts';
import { assertHeadroom } from '../../lib/disk/headroom.ts';
import { coerceError, UsageError } from '../../lib/errors.ts';
import { handleShutdownSignals } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { PgCdcIngestor } from './ingestor.ts';

const HELP = `Usage: npm run ingest:pg-cdc -- [options]

Captures every table of the schema public of the Postgres database named in SHOP_PG_URL into
the warehouse's typed change log raw_shop.<table> (the layout the MariaDB ingestor writes, so
dbt staging reads either): a snapshot consistent with a logical replication slot first, then
the slot's pgoutput stream from exactly that point. Rows and the LSN they end at commit in one
warehouse transaction, and the LSN is confirmed to the slot only after that: a restart resumes
there, nothing lost and nothing twice.

Options:
  --until-idle MS   exit 0 once caught up with the server and no change arrived for MS ms
  -h, --help        show this help

Environment:
  SHOP_PG_URL             source, postgres://user:pass@host:port/database; the server needs
                          wal_level=logical, the user REPLICATION (or superuser) and SELECT
  PG_CDC_SLOT             replication slot name (default shopflow_cdc; one per ingestor)
  PG_CDC_PUBLICATION      publication (default shopflow_cdc; created FOR TABLES IN SCHEMA public)
  WAREHOUSE_URL           warehouse; the ingestor connects as ingest_writer on the same host/db
  WAREHOUSE_INGEST_PASSWORD  password of ingest_writer
  INGEST_BATCH_ROWS       land a batch once it holds this many changes
  INGEST_BATCH_MAX_MS     ... or once its oldest change waited this long
  INGEST_GIVE_UP_MS       exit 69 when the source or warehouse does not answer for this long
  LAKEHOUSE_ENABLED       true: also publish every change to the Kafka change topic
                          LAKE_CHANGES_TOPIC on KAFKA_BROKERS (docs/lakehouse.md)
  LOG_LEVEL               trace|debug|info|warn|error|fatal|silent

Signals: the first SIGTERM/SIGINT lands every complete source transaction already received and
exits 0; a second one exits at once (nothing half-landed either way). See docs/pg-cdc.md.
`;

function parseFlags(argv: string[]): { help: boolean; untilIdleMs: number | undefined } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { 'until-idle': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(`${coerceError(error).message}\nRun with --help for the list of options.`);
  }
  const raw = values['until-idle'];
  if (raw !== undefined && (!/^\d+$/.test(raw) || Number(raw) > 86_400_000))
    throw new UsageError(`--until-idle must be a whole number from 0 to 86400000 (got "${raw}")`);
  return { help: values.help ?? false, untilIdleMs: raw === undefined ? undefined : Number(raw) };
}

await runCli(
  {
    name: 'ingest:pg-cdc',
    help: HELP,
    async main(argv, context) {
      const flags = parseFlags(argv);
      const config = context.config();
      const logger = createLogger('ingest-pg-cdc', config);
      await assertHeadroom(config, 'ingest:pg-cdc');
      const ingestor = new PgCdcIngestor({
        config,
        logger,
        giveUpAfterMs: config.INGEST_GIVE_UP_MS,
        // With the lakehouse on, the changes also go to its change topic (docs/lakehouse.md), as ingest:cdc's do.
        ...(config.LAKEHOUSE_ENABLED
          ? { changeTopic: { brokers: config.KAFKA_BROKERS, topic: config.LAKE_CHANGES_TOPIC, partitions: config.KAFKA_PARTITIONS } }
          : {}),
        ...(flags.untilIdleMs !== undefined ? { untilIdleMs: flags.untilIdleMs } : {}),
      });
      const removeSignals = handleShutdownSignals({
        logger,
        forceAfterMs: 30_000,
        drain: async () => {
          ingestor.stop();
          await running;
        },
      });
      const running = ingestor.run();
      try {
        const summary = await running;
        logger.info({ ...summary, source: ingestor.sourceName }, summary.end === 'idle' ? 'caught up and idle: exiting' : 'stopped');
        return 0;
      } finally {
        removeSignals();
      }
    },
  },
  { graceMs: 1_000 },
);
