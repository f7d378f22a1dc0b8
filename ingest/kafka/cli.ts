/**
 * `npm run ingest:kafka -- [flags]`: the Kafka -> Postgres ingestor. Thin entry: parse flags,
 * load config, run the library, exit with an honest status.
 */
import { loadConfig } from '../../lib/config/index.ts';
import { ShopflowError, UsageError } from '../../lib/errors.ts';
import { ensureTopic } from '../../lib/kafka/admin.ts';
import { handleShutdownSignals } from '../../lib/lifecycle.ts';
import { createLogger } from '../../lib/logger.ts';
import { HELP, parseCli, type CliOptions } from './cli-args.ts';
import { KafkaIngestor } from './ingestor.ts';

async function main(): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`ingest:kafka: ${(error as Error).message}\n`);
    return 2;
  }
  if (cli.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const config = loadConfig();
  const logger = createLogger('ingest-kafka', config.LOG_LEVEL);
  const topic = cli.topic ?? config.KAFKA_TOPIC;
  try {
    await ensureTopic(config.KAFKA_BROKERS, topic, config.KAFKA_PARTITIONS, { clientId: `${config.KAFKA_CLIENT_ID}-ingest-admin` });
    const ingestor = new KafkaIngestor({
      config,
      logger,
      groupId: cli.group ?? config.KAFKA_GROUP_ID,
      topic,
      batchRows: cli.batchRows ?? config.INGEST_BATCH_ROWS,
      batchMaxMs: cli.batchMs ?? config.INGEST_BATCH_MAX_MS,
      stopWhen: cli.stopWhen,
    });
    handleShutdownSignals({
      logger,
      forceAfterMs: 60_000,
      drain: async () => {
        await ingestor.stop('stopped');
      },
    });
    const summary = await ingestor.run();
    logger.info(summary, 'done');
    return 0;
  } catch (error) {
    const code = error instanceof ShopflowError ? error.code : undefined;
    logger.fatal({ err: error, code }, error instanceof Error ? error.message : String(error));
    return 1;
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  // Config errors and anything before the logger exists.
  process.stderr.write(`ingest:kafka: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
// Everything is closed by now; if a stray handle still holds the event loop, do not hang on it.
setTimeout(() => process.exit(process.exitCode ?? 0), 5_000).unref();
