/**
 * `npm run ingest:cdc`: capture the MariaDB/MySQL `shop` database into raw.shop_changes.
 * Thin entry: flags, config, signals, exit status; the work is in ingestor.ts.
 */
import { parseArgs } from 'node:util';

import cliProgress from 'cli-progress';

import { runCli } from '../../lib/cli/run.ts';
import { coerceError, UsageError } from '../../lib/errors.ts';
import { assertHeadroom, watchHeadroom, type DiskSpaceError } from '../../lib/disk/headroom.ts';
import { handleShutdownSignals } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { ingestMetrics } from '../../lib/metrics/ingest.ts';
import { createRegistry, serveMetrics } from '../../lib/metrics/server.ts';
import { CdcIngestor } from './ingestor.ts';

const HELP = `Usage: npm run ingest:cdc -- [options]

Captures every table of the database named in SHOP_DB_URL into the warehouse table
raw.shop_changes: a consistent snapshot first, then the binlog from exactly that point.
Rows and the binlog position they end at are committed together; a restart resumes there.

Options:
  --until-idle MS   exit 0 once caught up with the binlog head and no change arrived for MS ms
  --resnapshot      take a new snapshot even if one is complete (e.g. after a binlog purge)
  --server-id N     replica server id for the binlog connection (default: CDC_SERVER_ID);
                    must be unique among everything replicating from the source
  --no-progress     no snapshot progress bar on stderr
  -h, --help        show this help

Environment:
  SHOP_DB_URL             source, mysql://user:pass@host:port/database (needs REPLICATION SLAVE,
                          REPLICATION CLIENT, SELECT; RELOAD on MySQL)
  WAREHOUSE_URL           warehouse; the ingestor connects as ingest_writer on the same host/db
  WAREHOUSE_INGEST_PASSWORD  password of ingest_writer
  CDC_SERVER_ID           default --server-id
  INGEST_BATCH_ROWS       land a batch once it holds this many changes
  INGEST_BATCH_MAX_MS     ... or once its oldest change waited this long
  INGEST_GIVE_UP_MS       exit 69 when the source or warehouse does not answer for this long
  LOG_LEVEL               trace|debug|info|warn|error|fatal|silent

Signals: the first SIGTERM/SIGINT lands every complete source transaction already received and
exits 0; a second one exits at once (nothing half-landed either way). See docs/cdc.md.
`;

function parseFlags(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'until-idle': { type: 'string' },
        resnapshot: { type: 'boolean', default: false },
        'server-id': { type: 'string' },
        'no-progress': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${coerceError(error).message}\nRun with --help for the list of options.`);
  }
  const values = parsed.values;
  const integer = (name: string, raw: string | undefined, min: number, max: number): number | undefined => {
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return Number(raw);
  };
  return {
    help: values.help,
    resnapshot: values.resnapshot,
    progress: !values['no-progress'],
    untilIdleMs: integer('until-idle', values['until-idle'], 0, 86_400_000),
    serverId: integer('server-id', values['server-id'], 1, 4_294_967_295),
  };
}

await runCli(
  {
    name: 'ingest:cdc',
    help: HELP,
    async main(argv, context) {
      const flags = parseFlags(argv);
      const config = context.config();
      const logger = createLogger('ingest-cdc', config);
      // Before reading anything: a batch must never be the write that fills the warehouse's disk.
      await assertHeadroom(config, 'ingest:cdc');
      const metrics = await serveMetrics(createRegistry('ingest-cdc'), {
        enabled: config.METRICS_ENABLED,
        host: config.METRICS_HOST,
        port: config.METRICS_PORT_CDC,
        logger,
      });
      const meter = ingestMetrics(metrics.registry, 'cdc');
      let snapshotRowsSeen = 0;
      let bar: cliProgress.SingleBar | null = null;
      const ingestor = new CdcIngestor({
        config,
        serverId: flags.serverId ?? config.CDC_SERVER_ID,
        logger,
        resnapshot: flags.resnapshot,
        // The shared give-up policy: a source down for this long ends the process with exit 69;
        // retrying without end is the scheduler's supervisor's job.
        giveUpAfterMs: config.INGEST_GIVE_UP_MS,
        // With the lakehouse on, the changes also go to its change topic (docs/lakehouse.md).
        ...(config.LAKEHOUSE_ENABLED
          ? { changeTopic: { brokers: config.KAFKA_BROKERS, topic: config.LAKE_CHANGES_TOPIC, partitions: config.KAFKA_PARTITIONS } }
          : {}),
        ...(flags.untilIdleMs !== undefined ? { untilIdleMs: flags.untilIdleMs } : {}),
        onSnapshotStart: (_tables, estimatedTotal) => {
          snapshotRowsSeen = 0;
          if (!flags.progress) return;
          bar = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: 'snapshot {bar} {percentage}% | {value}/{total} rows | {table} | {eta_formatted} left',
              etaBuffer: 50,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(Math.max(estimatedTotal, 1), 0, { table: '' });
        },
        onSnapshotProgress: (event) => {
          meter.snapshotRows(event.totalRows - snapshotRowsSeen);
          snapshotRowsSeen = event.totalRows;
          if (!bar) return;
          if (event.totalRows > bar.getTotal()) bar.setTotal(event.totalRows);
          bar.update(event.totalRows, { table: event.table });
        },
        onBatch: (result) => {
          meter.batch({
            rows: result.rows,
            durationSeconds: result.batchMs / 1000,
            freshnessSeconds: result.maxLagMs === null ? null : result.maxLagMs / 1000,
          });
          meter.cdcLag(result.minLagMs === null ? null : result.minLagMs / 1000);
        },
        onSnapshotEnd: () => {
          bar?.stop();
          bar = null;
        },
      });
      const removeSignals = handleShutdownSignals({
        logger,
        forceAfterMs: 30_000,
        drain: async () => {
          ingestor.stop();
          await running;
        },
      });
      let diskLow: DiskSpaceError | undefined;
      const disk = watchHeadroom(
        config,
        'ingest:cdc',
        (error) => {
          diskLow = error;
          logger.warn({ code: error.code, path: error.headroom.path }, 'disk nearly full: draining');
          ingestor.stop();
        },
        logger,
      );
      const running = ingestor.run();
      try {
        const summary = await running;
        if (diskLow) throw diskLow;
        logger.info({ ...summary, source: ingestor.sourceName }, summary.end === 'idle' ? 'caught up and idle: exiting' : 'stopped');
        return 0;
      } finally {
        disk.stop();
        removeSignals();
      }
    },
  },
  { graceMs: 1_000 },
);
