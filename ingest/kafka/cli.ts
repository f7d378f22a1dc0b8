/**
 * `npm run ingest:kafka -- [flags]`: the Kafka -> Postgres ingestor. Thin entry: parse flags,
 * load config, run the library, exit with an honest status.
 */
import { EXIT } from '../../lib/cli/exit-codes.ts';
import { untilGiveUp } from '../../lib/cli/give-up.ts';
import { runCli } from '../../lib/cli/run.ts';
import { ensureTopic } from '../../lib/kafka/admin.ts';
import { assertHeadroom, watchHeadroom, type DiskSpaceError } from '../../lib/disk/headroom.ts';
import { handleShutdownSignals } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { ingestMetrics } from '../../lib/metrics/ingest.ts';
import { createRegistry, serveMetrics } from '../../lib/metrics/server.ts';
import { HELP, parseCli, type CliOptions } from './cli-args.ts';
import { KafkaIngestor } from './ingestor.ts';

await runCli({
  name: 'ingest:kafka',
  help: HELP,
  async main(argv, context) {
    const cli: CliOptions = parseCli(argv);
    const config = context.config();
    const logger = createLogger('ingest-kafka', config);
    const topic = cli.topic ?? config.KAFKA_TOPIC;
    // Before consuming anything: a batch must never be the write that fills the warehouse's disk.
    await assertHeadroom(config, 'ingest:kafka');
    // Run by hand or by the scheduler alike: an unreachable broker is retried for a bounded
    // time, then the process exits 69; only the scheduler's supervisor retries without end.
    await untilGiveUp(
      () => ensureTopic(config.KAFKA_BROKERS, topic, config.KAFKA_PARTITIONS, { clientId: `${config.KAFKA_CLIENT_ID}-ingest-admin` }),
      logger,
      'Kafka',
      config.INGEST_GIVE_UP_MS,
    );
    const metrics = await serveMetrics(createRegistry('ingest-kafka'), {
      enabled: config.METRICS_ENABLED,
      host: config.METRICS_HOST,
      port: config.METRICS_PORT_KAFKA,
      logger,
    });
    const meter = ingestMetrics(metrics.registry, 'kafka', { topic, group: cli.group ?? config.KAFKA_GROUP_ID });
    const ingestor = new KafkaIngestor({
      config,
      logger,
      groupId: cli.group ?? config.KAFKA_GROUP_ID,
      topic,
      batchRows: cli.batchRows ?? config.INGEST_BATCH_ROWS,
      batchMaxMs: cli.batchMs ?? config.INGEST_BATCH_MAX_MS,
      stopWhen: cli.stopWhen,
      onCommitted: (commit) => {
        meter.batch({
          rows: commit.events,
          deadLettersByCode: commit.deadLettersByCode,
          durationSeconds: commit.flushMs / 1000,
          freshnessSeconds: commit.stalestMs === null ? null : commit.stalestMs / 1000,
        });
        meter.consumerLag(commit.consumerLag);
      },
    });
    handleShutdownSignals({
      logger,
      forceAfterMs: 60_000,
      drain: async () => {
        await ingestor.stop('stopped');
      },
    });
    let diskLow: DiskSpaceError | undefined;
    const disk = watchHeadroom(
      config,
      'ingest:kafka',
      (error) => {
        diskLow = error;
        logger.warn({ code: error.code, path: error.headroom.path }, 'disk nearly full: draining');
        void ingestor.stop('stopped');
      },
      logger,
    );
    try {
      const summary = await ingestor.run();
      logger.info(summary, 'done');
    } finally {
      disk.stop();
    }
    // The batch in flight is committed; the runner prints the one sentence and exits 73.
    if (diskLow) throw diskLow;
    return EXIT.ok;
  },
});
