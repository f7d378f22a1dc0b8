/**
 * What a run is made of, for both modes (run.ts's backfill and live.ts's loop): the sinks opened
 * from the options, a writer that overlaps writing one batch with generating the next, and a
 * tally of what the batches held. Its own module so run.ts and live.ts both import it without
 * importing each other.
 */
import type { Config } from '../lib/config/index.ts';
import { ShopflowError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Manifest } from './anomalies/manifest.ts';
import type { GenerateOptions } from './args.ts';
import { KafkaSink } from './sinks/kafka.ts';
import { MariadbSink, connectShopDb, emptyCounts, ensureSchema, tableCounts, writeMethodFor, type WriteCounts } from './sinks/mariadb.ts';
import { PostgresShopSink, connectShopPg, ensurePgSchema, pgTableCounts } from './sinks/postgres.ts';
import type { Sink } from './sinks/types.ts';
import type { RunSummary } from './summary.ts';
import type { Batch } from './world/batch.ts';

export interface RunHooks {
  /** Aborting stops after the batch in flight is written (SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

/** Tallies what the batches contained (the same with or without sinks). */
export class Tally {
  readonly rows: WriteCounts = emptyCounts();
  readonly events: Record<string, number> = {};
  rowsTotal = 0;
  eventsTotal = 0;

  add(batch: Batch): void {
    for (const [table, rows] of batch.inserts) this.rows.inserted[table] += rows.length;
    for (const [table, rows] of batch.upserts) this.rows.upserted[table] += rows.length;
    this.rowsTotal += batch.rowCount();
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i++) {
      const type = messages.type(i);
      this.events[type] = (this.events[type] ?? 0) + 1;
    }
    this.eventsTotal += messages.length;
  }

  /** The run's summary from what was tallied, timed from `startedHr` (process.hrtime.bigint()). */
  summary(run: Pick<RunSummary, 'mode' | 'seed' | 'window' | 'sinks'>, manifest: Manifest | null, startedHr: bigint): RunSummary {
    const seconds = Number(process.hrtime.bigint() - startedHr) / 1e9;
    return {
      ...run,
      seconds,
      rows: this.rows,
      rowsTotal: this.rowsTotal,
      events: this.events,
      eventsTotal: this.eventsTotal,
      anomalies: Object.fromEntries(manifest?.counts ?? []),
      manifest: manifest?.path ?? null,
      rowsPerSecond: this.rowsTotal / seconds,
      eventsPerSecond: this.eventsTotal / seconds,
      peakRssMb: peakRssMb(),
    };
  }
}

export interface OpenSinks {
  sinks: Sink[];
  mariadb: MariadbSink | null;
  close(): Promise<void>;
}

function refuseNonEmpty(counts: WriteCounts['inserted']): void {
  if (counts.customers > 0 || counts.products > 0 || counts.orders > 0) {
    throw new ShopflowError(
      'SHOPFLOW_GENERATOR_NOT_EMPTY',
      `the shop database already holds ${counts.customers} customers, ${counts.products} products and ${counts.orders} orders; ` +
        'a backfill starts from an empty shop: run `npm run reset` to empty the shop, the topic and the warehouse together ' +
        '(or add --reset to recreate only the shop tables), or use --live to continue from this state',
    );
  }
}

export async function openSinks(options: GenerateOptions, config: Config, logger: Logger): Promise<OpenSinks> {
  const sinks: Sink[] = [];
  let mariadb: MariadbSink | null = null;
  const close = async () => {
    for (const sink of sinks.reverse())
      await sink.close().catch((error: unknown) => logger.warn({ err: error, sink: sink.name }, 'closing sink failed'));
  };
  if (options.dryRun) return { sinks, mariadb, close };
  try {
    if (options.sinks.includes('mariadb') && options.sourceDb === 'postgres') {
      const client = await connectShopPg(config.SHOP_PG_URL, logger);
      sinks.push(new PostgresShopSink(client));
      await ensurePgSchema(client, { reset: options.reset });
      refuseNonEmpty(await pgTableCounts(client));
    } else if (options.sinks.includes('mariadb')) {
      const connection = await connectShopDb(config.SHOP_DB_URL, logger);
      mariadb = new MariadbSink(connection, await writeMethodFor(connection, logger));
      sinks.push(mariadb);
      await ensureSchema(connection, { reset: options.reset && options.mode === 'backfill' });
      if (options.mode === 'backfill') {
        refuseNonEmpty(await tableCounts(connection));
      }
    }
    if (options.sinks.includes('kafka')) {
      sinks.push(
        await KafkaSink.open(
          {
            brokers: config.KAFKA_BROKERS,
            clientId: config.KAFKA_CLIENT_ID,
            topic: config.KAFKA_TOPIC,
            partitions: config.KAFKA_PARTITIONS,
          },
          logger,
        ),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { sinks, mariadb, close };
}

/**
 * Writes each batch to every sink; the next batch is generated while this one is in flight.
 * With `flushEachBatch` (live mode) every batch is stored before the next is taken; otherwise
 * sinks may hold a partial request back across batches (backfill) until flush().
 */
export class BatchWriter {
  readonly #sinks: Sink[];
  readonly #flushEachBatch: boolean;
  #inFlight: Promise<void> | null = null;

  constructor(sinks: Sink[], options: { flushEachBatch?: boolean } = {}) {
    this.#sinks = sinks;
    this.#flushEachBatch = options.flushEachBatch ?? false;
  }

  async submit(batch: Batch): Promise<void> {
    await this.#awaitInFlight();
    if (this.#sinks.length === 0) return batch.release();
    const writing = Promise.all(
      this.#sinks.map(async (s) => {
        await s.write(batch);
        if (this.#flushEachBatch) await s.flush();
      }),
    ).then(() => batch.release());
    // Observed by the next submit/flush; a rejection must not go unhandled in between.
    writing.catch(() => undefined);
    this.#inFlight = writing;
  }

  async flush(): Promise<void> {
    await this.#awaitInFlight();
    await Promise.all(this.#sinks.map((s) => s.flush()));
  }

  async #awaitInFlight(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = null;
    if (inFlight) await inFlight;
  }
}

export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
