/**
 * The CDC ingestor: snapshot when needed, then follow the binlog; on a transient failure (source
 * or warehouse restarting, network) tear everything down, back off (capped, jittered) and resume
 * from the position committed in Postgres. Library code: the CLI owns signals and exit codes.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import type pg from 'pg';

import { roleUrl, type Config } from '../../lib/config/index.ts';
import { coerceError, FatalPipelineError, ServiceUnavailableError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { createPool } from '../../lib/pg/pool.ts';
import { backoffDelay } from '../../lib/retry.ts';
import { BinlogPurgedError, classifyCdcError, isBinlogReadError } from './errors.ts';
import { ChangeTopicPublisher, type ChangeTopicOptions } from './change-topic.ts';
import { acquireInstanceLock } from './instance-lock.ts';
import { readPosition } from './positions.ts';
import { assertBinlogAvailable, purgedMessage, RESNAPSHOT_COMMAND } from './purge-check.ts';
import { replacedSourceReason } from './source-identity.ts';
import { completeSnapshot, runSnapshot, type SnapshotProgressEvent } from './snapshot.ts';
import { availableBinlogs, checkServerSettings, openControlConnection, primaryKeys, sourceFromUrl, type SourceInfo } from './source.ts';
import type { BatchResult } from './sink.ts';
import { BinlogStream, type StreamEnd } from './stream.ts';
import type { TableInfo } from './source.ts';

export interface CdcOptions {
  config: Pick<
    Config,
    | 'SHOP_DB_URL'
    | 'WAREHOUSE_URL'
    | 'WAREHOUSE_INGEST_PASSWORD'
    | 'WAREHOUSE_TRANSFORMER_PASSWORD'
    | 'WAREHOUSE_BI_PASSWORD'
    | 'WAREHOUSE_OPS_PASSWORD'
    | 'INGEST_BATCH_ROWS'
    | 'INGEST_BATCH_MAX_MS'
    | 'CDC_RAW_LAYOUT'
  >;
  serverId: number;
  logger: Logger;
  /** Take a new snapshot even though one is complete (e.g. after a binlog purge). */
  resnapshot?: boolean;
  /** Exit once caught up with the binlog head and idle this long. */
  untilIdleMs?: number;
  /** How long to wait for another ingestor of the same source to let go (default 15 s). */
  lockWaitMs?: number;
  /** Backoff bounds for transient failures. */
  retry?: { minDelayMs: number; maxDelayMs: number; maxUnknownFailures: number };
  /**
   * Give up (ServiceUnavailableError) after failing this long without landing anything: the
   * shared give-up policy (lib/cli/give-up.ts). Unset: retry transient failures without end.
   */
  giveUpAfterMs?: number;
  onSnapshotStart?: (tables: TableInfo[], estimatedTotal: number) => void;
  onSnapshotProgress?: (event: SnapshotProgressEvent) => void;
  onSnapshotEnd?: () => void;
  onBatch?: (result: BatchResult) => void;
  /** Also publish every change to this Kafka topic, exactly once (change-topic.ts). */
  changeTopic?: ChangeTopicOptions;
}

export interface CdcSummary {
  end: StreamEnd;
  snapshotRows: number;
  changes: number;
  transactions: number;
  retries: number;
}

const DEFAULT_RETRY = { minDelayMs: 500, maxDelayMs: 30_000, maxUnknownFailures: 5 };

export class CdcIngestor {
  readonly source: SourceInfo;
  readonly sourceName: string;
  readonly #options: CdcOptions;
  readonly #abort = new AbortController();
  #stream: BinlogStream | null = null;
  #stopping = false;
  #resnapshot: boolean;
  #summary: CdcSummary = { end: 'stopped', snapshotRows: 0, changes: 0, transactions: 0, retries: 0 };

  constructor(options: CdcOptions) {
    this.#options = options;
    this.source = sourceFromUrl(options.config.SHOP_DB_URL);
    // One ingestor per source database; the name keys its row in ingest.cdc_positions.
    this.sourceName = this.source.database;
    this.#resnapshot = options.resnapshot ?? false;
  }

  /** Drain: land every complete source transaction already received, then let run() return. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#abort.abort(new Error('stopping'));
    this.#stream?.stop();
  }

  async run(): Promise<CdcSummary> {
    const { logger } = this.#options;
    const retry = this.#options.retry ?? DEFAULT_RETRY;
    const pool = createPool({
      connectionString: roleUrl(this.#options.config, 'ingest_writer'),
      applicationName: 'shopflow-ingest-cdc',
      max: 3,
      logger,
    });
    let attempt = 0;
    let unknownFailures = 0;
    let failingSince: number | null = null;
    try {
      for (;;) {
        if (this.#stopping) return this.#summary;
        const progressBefore = this.#summary.changes + this.#summary.transactions + this.#summary.snapshotRows;
        try {
          this.#summary.end = await this.#runOnce(pool);
          return this.#summary;
        } catch (thrown) {
          const error = isBinlogReadError(thrown) ? await this.#purgedError(pool, thrown) : coerceError(thrown);
          if (this.#stopping && !(error instanceof FatalPipelineError)) return this.#summary;
          const verdict = classifyCdcError(error);
          if (verdict === 'fatal') throw error;
          const progressed = this.#summary.changes + this.#summary.transactions + this.#summary.snapshotRows > progressBefore;
          attempt = progressed ? 1 : attempt + 1;
          failingSince = progressed || failingSince === null ? Date.now() : failingSince;
          const giveUpAfterMs = this.#options.giveUpAfterMs;
          if (giveUpAfterMs !== undefined && Date.now() - failingSince >= giveUpAfterMs) {
            throw new ServiceUnavailableError(
              `CDC could not reach its source or the warehouse for ${Math.round(giveUpAfterMs / 1000)} s: ${error.message}`,
              error,
            );
          }
          if (verdict === 'unknown' && ++unknownFailures > retry.maxUnknownFailures) {
            throw new FatalPipelineError(
              'CDC_GIVING_UP',
              `CDC failed ${unknownFailures} times with an unexpected error; last: ${error.message}`,
              error,
            );
          }
          const delayMs = backoffDelay(attempt, retry);
          this.#summary.retries++;
          logger.warn({ err: error, attempt, delayMs, verdict }, 'CDC interrupted; resuming from the committed position after a pause');
          await sleep(delayMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
        }
      }
    } finally {
      await pool.end().catch(() => undefined);
    }
  }

  /** A binlog read error (1236) mid-stream: name the gap, with the binlogs the server has now. */
  async #purgedError(pool: pg.Pool, cause: unknown): Promise<Error> {
    try {
      const position = await readPosition(pool, this.sourceName);
      const control = await openControlConnection(this.source);
      try {
        const stored = { file: position?.binlogFile ?? '(none)', position: position?.binlogPosition ?? 0 };
        return new BinlogPurgedError(
          `${purgedMessage(this.sourceName, stored, await availableBinlogs(control))} (server said: ${coerceError(cause).message})`,
          cause,
        );
      } finally {
        await control.end().catch(() => undefined);
      }
    } catch {
      return new BinlogPurgedError(
        `The source refused to send the binlog from the stored position: ${coerceError(cause).message}. Re-snapshot with: npm run ingest:cdc -- --resnapshot`,
        cause,
      );
    }
  }

  async #runOnce(pool: pg.Pool): Promise<StreamEnd> {
    const { logger, config } = this.#options;
    const lock = await acquireInstanceLock(roleUrl(config, 'ingest_writer'), this.sourceName, {
      signal: this.#abort.signal,
      ...(this.#options.lockWaitMs !== undefined ? { waitMs: this.#options.lockWaitMs } : {}),
    });
    let lockLost: Error | null = null;
    const attempt = new AbortController();
    lock.onLost((error) => {
      lockLost = error;
      attempt.abort(error);
      this.#stream?.fail(error);
    });
    let control: Awaited<ReturnType<typeof openControlConnection>> | null = null;
    let publisher: ChangeTopicPublisher | null = null;
    try {
      control = await openControlConnection(this.source);
      const { warnings } = await checkServerSettings(control);
      for (const warning of warnings) logger.warn(warning);

      let position = await readPosition(pool, this.sourceName);
      const replaced = position ? await replacedSourceReason(control, position) : null;
      if (replaced && !this.#resnapshot) {
        throw new FatalPipelineError(
          'CDC_SOURCE_REPLACED',
          `The source behind ${this.sourceName} is not the one the warehouse has followed: ${replaced}. ` +
            'Following it would mix two worlds in raw.shop_changes. If this is the right server (a restore, a rebuilt or reset shop), take a new snapshot: ' +
            `${RESNAPSHOT_COMMAND} (it ends every table's earlier rows with a truncate, then snapshots the source as it is now; docs/cdc.md, "A replaced source"). ` +
            'If it is the wrong server, fix SHOP_DB_URL.',
        );
      }
      if (this.#options.changeTopic)
        publisher = await ChangeTopicPublisher.open(this.#options.changeTopic, this.sourceName, logger, { source: this.source, pool });
      if (!this.#resnapshot && position?.snapshotState === 'running' && position.snapshotId === publisher?.snapshotId) {
        // Killed between the change topic's commit of the snapshot and Postgres's: finish it.
        position = await completeSnapshot(pool, position, config.CDC_RAW_LAYOUT, logger);
        logger.warn({ snapshotId: position.snapshotId }, 'completed a snapshot the change topic already holds');
      } else if (publisher && position?.snapshotState === 'done' && publisher.snapshotId === null) {
        logger.warn(
          `the change topic holds no snapshot of ${this.sourceName}: rows unchanged since the warehouse's snapshot are not in it; ${RESNAPSHOT_COMMAND} publishes one`,
        );
      }
      if (this.#resnapshot || !position || position.snapshotState !== 'done') {
        if (position?.snapshotState === 'done') logger.warn('re-snapshot requested: taking a new snapshot; the log keeps what it has');
        const snapshot = await runSnapshot({
          source: this.source,
          pool,
          sourceName: this.sourceName,
          logger,
          layout: config.CDC_RAW_LAYOUT,
          ...(replaced ? { replacedSource: replaced } : {}),
          ...(publisher ? { changeTopic: publisher } : {}),
          signal: AbortSignal.any([this.#abort.signal, attempt.signal]),
          ...(this.#options.onSnapshotStart ? { onStart: this.#options.onSnapshotStart } : {}),
          ...(this.#options.onSnapshotProgress ? { onProgress: this.#options.onSnapshotProgress } : {}),
        }).finally(() => this.#options.onSnapshotEnd?.());
        this.#resnapshot = false;
        this.#summary.snapshotRows += snapshot.rows;
        position = snapshot.position;
      }
      if (this.#stopping) return 'stopped';
      const start = { file: position.binlogFile!, position: position.binlogPosition! };
      await assertBinlogAvailable(control, this.sourceName, start);

      const stream = new BinlogStream({
        source: this.source,
        sink: {
          pool,
          sourceName: this.sourceName,
          instanceId: `${hostname()}:${process.pid}`,
          source: this.source,
          layout: config.CDC_RAW_LAYOUT,
        },
        control,
        serverId: this.#options.serverId,
        start,
        primaryKeys: await primaryKeys(control, this.source.database),
        batchRows: config.INGEST_BATCH_ROWS,
        batchMaxMs: config.INGEST_BATCH_MAX_MS,
        ...(this.#options.untilIdleMs !== undefined ? { untilIdleMs: this.#options.untilIdleMs } : {}),
        logger,
        ...(publisher ? { beforeLanding: publisher.publish.bind(publisher) } : {}),
        onBatch: (result) => {
          this.#summary.changes += result.rows;
          this.#summary.transactions += result.transactions;
          logger.debug(
            { rows: result.rows, transactions: result.transactions, lagMs: result.maxLagMs, batchMs: result.batchMs },
            'batch landed',
          );
          this.#options.onBatch?.(result);
        },
      });
      this.#stream = stream;
      if (this.#stopping) stream.stop();
      if (lockLost) throw lockLost;
      return await stream.run();
    } finally {
      this.#stream = null;
      await publisher?.close().catch(() => undefined);
      await control?.end().catch(() => undefined);
      await lock.release();
    }
  }
}
