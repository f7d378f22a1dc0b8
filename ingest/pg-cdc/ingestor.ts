/**
 * The Postgres CDC ingestor: the snapshot when no completed one is stored (snapshot.ts), then the
 * slot's stream (stream.ts) from the stored position. One instance per source (the advisory lock
 * of ingest/cdc/instance-lock.ts, keyed by the source name); on a transient failure (either
 * server restarting, a dropped connection) everything is torn down and resumed from the position
 * committed in the warehouse, after a capped, jittered pause. Library code: the CLI owns signals.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import type pg from 'pg';

import { roleUrl, type Config } from '../../lib/config/index.ts';
import { coerceError, FatalPipelineError, ServiceUnavailableError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { createPool } from '../../lib/pg/pool.ts';
import { backoffDelay } from '../../lib/retry.ts';
import { ChangeTopicPublisher, type ChangeTopicOptions } from '../cdc/change-topic.ts';
import { classifyCdcError } from '../cdc/errors.ts';
import { acquireInstanceLock } from '../cdc/instance-lock.ts';
import { readPosition } from '../cdc/positions.ts';
import type { BatchResult } from '../cdc/sink.ts';
import { runPgSnapshot } from './snapshot.ts';
import { checkSourceSettings, connectSource, pgSourceFromUrl, slotState, type PgSourceInfo } from './source.ts';
import { PgChangeStream, type PgStreamEnd } from './stream.ts';

export interface PgCdcOptions {
  config: Pick<
    Config,
    | 'SHOP_PG_URL'
    | 'PG_CDC_SLOT'
    | 'PG_CDC_PUBLICATION'
    | 'WAREHOUSE_URL'
    | 'WAREHOUSE_INGEST_PASSWORD'
    | 'WAREHOUSE_TRANSFORMER_PASSWORD'
    | 'WAREHOUSE_BI_PASSWORD'
    | 'WAREHOUSE_OPS_PASSWORD'
    | 'INGEST_BATCH_ROWS'
    | 'INGEST_BATCH_MAX_MS'
  >;
  logger: Logger;
  untilIdleMs?: number;
  lockWaitMs?: number;
  retry?: { minDelayMs: number; maxDelayMs: number; maxUnknownFailures: number };
  /** Give up (ServiceUnavailableError) after failing this long without landing anything. */
  giveUpAfterMs?: number;
  onBatch?: (result: BatchResult) => void;
  /** Also publish every change to this Kafka change topic (the lakehouse's), as ingest:cdc does. */
  changeTopic?: ChangeTopicOptions;
}

export interface PgCdcSummary {
  end: PgStreamEnd;
  snapshotRows: number;
  changes: number;
  transactions: number;
  retries: number;
}

const DEFAULT_RETRY = { minDelayMs: 500, maxDelayMs: 30_000, maxUnknownFailures: 5 };

/** The key of a Postgres source in ingest.cdc_positions (and of its lock): apart from any MariaDB source's. */
export function pgSourceName(source: PgSourceInfo): string {
  return `postgres:${source.database}:${source.slot}`;
}

export class PgCdcIngestor {
  readonly source: PgSourceInfo;
  readonly sourceName: string;
  readonly #options: PgCdcOptions;
  readonly #abort = new AbortController();
  #stream: PgChangeStream | null = null;
  #stopping = false;
  #summary: PgCdcSummary = { end: 'stopped', snapshotRows: 0, changes: 0, transactions: 0, retries: 0 };

  constructor(options: PgCdcOptions) {
    this.#options = options;
    this.source = pgSourceFromUrl(options.config.SHOP_PG_URL, options.config.PG_CDC_SLOT, options.config.PG_CDC_PUBLICATION);
    this.sourceName = pgSourceName(this.source);
  }

  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#abort.abort(new Error('stopping'));
    this.#stream?.stop();
  }

  async run(): Promise<PgCdcSummary> {
    const { logger } = this.#options;
    const retry = this.#options.retry ?? DEFAULT_RETRY;
    const pool = createPool({
      connectionString: roleUrl(this.#options.config, 'ingest_writer'),
      applicationName: 'shopflow-ingest-pg-cdc',
      max: 3,
      logger,
    });
    let attempt = 0;
    let unknownFailures = 0;
    let failingSince: number | null = null;
    try {
      for (;;) {
        if (this.#stopping) return this.#summary;
        const before = this.#summary.changes + this.#summary.snapshotRows;
        try {
          this.#summary.end = await this.#runOnce(pool);
          return this.#summary;
        } catch (thrown) {
          const error = coerceError(thrown);
          if (this.#stopping && !(error instanceof FatalPipelineError)) return this.#summary;
          const verdict = classifyCdcError(error);
          if (verdict === 'fatal') throw error;
          const progressed = this.#summary.changes + this.#summary.snapshotRows > before;
          attempt = progressed ? 1 : attempt + 1;
          failingSince = progressed || failingSince === null ? Date.now() : failingSince;
          const giveUpAfterMs = this.#options.giveUpAfterMs;
          if (giveUpAfterMs !== undefined && Date.now() - failingSince >= giveUpAfterMs)
            throw new ServiceUnavailableError(
              `Postgres CDC could not reach its source or the warehouse for ${Math.round(giveUpAfterMs / 1000)} s: ${error.message}`,
              error,
            );
          if (verdict === 'unknown' && ++unknownFailures > retry.maxUnknownFailures)
            throw new FatalPipelineError(
              'CDC_GIVING_UP',
              `Postgres CDC failed ${unknownFailures} times with an unexpected error; last: ${error.message}`,
              error,
            );
          const delayMs = backoffDelay(attempt, retry);
          this.#summary.retries++;
          logger.warn(
            { err: error, attempt, delayMs, verdict },
            'Postgres CDC interrupted; resuming from the committed position after a pause',
          );
          await sleep(delayMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
        }
      }
    } finally {
      await pool.end().catch(() => undefined);
    }
  }

  async #runOnce(pool: pg.Pool): Promise<PgStreamEnd> {
    const { logger, config } = this.#options;
    const lock = await acquireInstanceLock(roleUrl(config, 'ingest_writer'), this.sourceName, {
      signal: this.#abort.signal,
      ...(this.#options.lockWaitMs !== undefined ? { waitMs: this.#options.lockWaitMs } : {}),
    });
    let lockLost: Error | null = null;
    lock.onLost((error) => {
      lockLost = error;
      this.#stream?.stop();
    });
    const control = await connectSource(this.source, 'shopflow-ingest-pg-cdc');
    control.on('error', (error) => logger.warn({ err: error }, 'shop Postgres control connection error'));
    let publisher: ChangeTopicPublisher | null = null;
    try {
      await control.connect();
      await checkSourceSettings(control);
      let position = await readPosition(pool, this.sourceName);
      // The MariaDB path's publisher: a Postgres source gives it only its database's name (no XA, no re-reads).
      if (this.#options.changeTopic)
        publisher = await ChangeTopicPublisher.open(this.#options.changeTopic, this.sourceName, logger, {
          source: { database: this.source.database },
          pool,
        });
      if (publisher && position?.snapshotState === 'done' && publisher.snapshotId === null)
        logger.warn(
          `the change topic holds no snapshot of ${this.sourceName}: rows unchanged since the warehouse's snapshot are not in it; take a new snapshot (docs/pg-cdc.md, "Failure") to publish one`,
        );
      if (!position || position.snapshotState !== 'done') {
        const snapshot = await runPgSnapshot(pool, this.source, this.sourceName, logger, undefined, publisher ?? undefined);
        this.#summary.snapshotRows += snapshot.rows;
        position = await readPosition(pool, this.sourceName);
      } else if (!(await slotState(control, this.source.slot)).exists) {
        throw new FatalPipelineError(
          'PG_CDC_SLOT_LOST',
          `the replication slot ${this.source.slot} is gone from the Postgres shop, so the changes since the stored position (${position.binlogPosition}) cannot be read. ` +
            `Take a new snapshot: delete the row of ${this.sourceName} from ingest.cdc_positions, then start the ingestor (docs/pg-cdc.md, "Failure").`,
        );
      }
      if (this.#stopping) return 'stopped';
      const stream = new PgChangeStream({
        pool,
        source: this.source,
        sourceName: this.sourceName,
        instanceId: `${hostname()}:${process.pid}`,
        startPosition: position!.binlogPosition!,
        control,
        batchRows: config.INGEST_BATCH_ROWS,
        batchMaxMs: config.INGEST_BATCH_MAX_MS,
        ...(this.#options.untilIdleMs !== undefined ? { untilIdleMs: this.#options.untilIdleMs } : {}),
        logger,
        ...(publisher ? { beforeLanding: publisher.publish.bind(publisher) } : {}),
        onBatch: (result) => {
          this.#summary.changes += result.rows;
          this.#summary.transactions += result.transactions;
          logger.debug({ rows: result.rows, transactions: result.transactions, lagMs: result.maxLagMs }, 'batch landed');
          this.#options.onBatch?.(result);
        },
      });
      this.#stream = stream;
      if (this.#stopping) stream.stop();
      const end = await this.#streamWhenSlotFree(stream, control);
      if (lockLost) throw lockLost;
      return end;
    } finally {
      this.#stream = null;
      await publisher?.close().catch(() => undefined);
      await control.end().catch(() => undefined);
      await lock.release();
    }
  }

  /** After a kill -9 the server may hold the slot for its dead walsender a moment: wait for it (bounded). */
  async #streamWhenSlotFree(stream: PgChangeStream, control: pg.Client): Promise<PgStreamEnd> {
    const deadline = Date.now() + 30_000;
    while ((await slotState(control, this.source.slot)).active && Date.now() < deadline && !this.#stopping)
      await sleep(200, undefined, { signal: this.#abort.signal }).catch(() => undefined);
    return stream.run();
  }
}
