/**
 * The streaming phase: binlog transactions are queued as they commit on the source and landed
 * in batches (several source transactions per Postgres transaction), one batch in flight at a
 * time while the next one fills. Ends on stop (after landing every complete transaction), on
 * idle (--until-idle), or with the first error (nothing half-landed: the caller restarts from
 * the committed position).
 */
import type mysql from 'mysql2/promise';

import type { Logger } from '../../lib/logger.ts';
import { BinlogReader } from './binlog-reader.ts';
import { commitBatch, type BatchResult, type SinkContext } from './sink.ts';
import { binlogHead, compareCoordinates, type BinlogCoordinate, type SourceInfo } from './source.ts';
import type { SourceTransaction } from './transaction-assembler.ts';

export interface StreamOptions {
  source: SourceInfo;
  sink: SinkContext;
  control: mysql.Connection;
  serverId: number;
  start: BinlogCoordinate;
  primaryKeys: Map<string, string[]>;
  batchRows: number;
  batchMaxMs: number;
  /** Finish once caught up with the binlog head and no change arrived for this long. */
  untilIdleMs?: number;
  logger: Logger;
  onBatch?: (result: BatchResult) => void;
  /** Runs before a batch is landed; a failure fails the batch (nothing landed). */
  beforeLanding?: (batch: readonly SourceTransaction[]) => Promise<unknown>;
}

export type StreamEnd = 'idle' | 'stopped';

const TICK_MS = 50;
/** Position-only batches (other databases' transactions) are written at most this often. */
const POSITION_ONLY_EVERY_MS = 1_000;

export class BinlogStream {
  #queue: SourceTransaction[] = [];
  #queuedRows = 0;
  #firstQueuedAt = 0;
  #lastOwnChangeAt = Date.now();
  #flushing: Promise<void> | null = null;
  #stopping = false;
  #idleHead: { coordinate: BinlogCoordinate; sampledAt: number } | null = null;
  #sampling = false;
  #reader: BinlogReader | null = null;
  #settle: { resolve: (end: StreamEnd) => void; reject: (error: Error) => void } | null = null;
  #failed = false;

  constructor(private readonly options: StreamOptions) {}

  async run(): Promise<StreamEnd> {
    const { options } = this;
    const done = new Promise<StreamEnd>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    const reader = new BinlogReader({
      source: options.source,
      serverId: options.serverId,
      start: options.start,
      logger: options.logger,
      primaryKeys: options.primaryKeys,
      onTransaction: (tx) => this.#enqueue(tx),
      onError: (error) => this.#fail(error),
    });
    this.#reader = reader;
    const timer = setInterval(() => this.#tick(), TICK_MS);
    try {
      await Promise.race([reader.start(), done]);
      options.logger.info({ binlogFile: options.start.file, binlogPosition: options.start.position }, 'following the binlog');
      if (this.#stopping) this.#tick();
      return await done;
    } finally {
      clearInterval(timer);
      await reader.stop();
      // A failed batch leaves nothing behind; wait for it so no COPY runs on after we return.
      await this.#flushing?.catch(() => undefined);
    }
  }

  /** Stop reading; land every complete transaction already received, then end with 'stopped'. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    void this.#reader?.stop().then(() => this.#tick());
  }

  #enqueue(tx: SourceTransaction): void {
    if (this.#stopping || this.#failed) return;
    if (this.#queue.length === 0) this.#firstQueuedAt = Date.now();
    this.#queue.push(tx);
    // An XA outcome or a rename lands rows the transaction does not carry itself: count it as one.
    const weight = tx.changes.length + (tx.xa && tx.xa.kind !== 'prepare' ? 1 : 0) + (tx.renames ? 1 : 0) + (tx.rereads ? 1 : 0);
    this.#queuedRows += weight;
    if (weight > 0) this.#lastOwnChangeAt = Date.now();
    if (this.#queuedRows >= this.options.batchRows * 2) this.#reader?.pause();
    if (this.#queuedRows >= this.options.batchRows) this.#tick();
  }

  /** Ends the stream with `error` (e.g. the instance lock was lost). */
  fail(error: Error): void {
    this.#fail(error);
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#settle?.reject(error);
  }

  #tick(): void {
    if (this.#failed || this.#flushing) return;
    const now = Date.now();
    if (this.#queue.length > 0) {
      const age = now - this.#firstQueuedAt;
      const idleTail = now - (this.#reader?.lastEventAt ?? 0) >= TICK_MS;
      const due =
        this.#stopping ||
        this.#queuedRows >= this.options.batchRows ||
        (this.#queuedRows > 0 && (age >= this.options.batchMaxMs || idleTail)) ||
        age >= POSITION_ONLY_EVERY_MS ||
        (this.options.untilIdleMs !== undefined && now - this.#lastOwnChangeAt >= this.options.untilIdleMs && age >= TICK_MS * 4);
      if (due) {
        this.#flush();
        return;
      }
    }
    if (this.#stopping && this.#queue.length === 0) {
      this.#settle?.resolve('stopped');
      return;
    }
    this.#checkIdle(now);
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    this.#queuedRows = 0;
    const before = this.options.beforeLanding;
    const landed = before ? before(batch).then(() => commitBatch(this.options.sink, batch)) : commitBatch(this.options.sink, batch);
    this.#flushing = landed.then(
      (result) => {
        this.#flushing = null;
        this.#reader?.resume();
        this.options.onBatch?.(result);
        this.#tick();
      },
      (error: unknown) => {
        this.#flushing = null;
        this.#fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /**
   * --until-idle: idle means no change for the captured database for untilIdleMs AND the reader
   * has passed a binlog head sampled after that quiet period began. Sampling first and comparing
   * later keeps this true on a server other databases keep writing to.
   */
  #checkIdle(now: number): void {
    const idleMs = this.options.untilIdleMs;
    const reader = this.#reader;
    // Queued position-only transactions (other databases) do not hold the exit back.
    if (idleMs === undefined || !reader || this.#queuedRows > 0 || reader.inTransaction) return;
    if (now - this.#lastOwnChangeAt < idleMs) return;
    const head = this.#idleHead;
    if (head && head.sampledAt > this.#lastOwnChangeAt && compareCoordinates(reader.position, head.coordinate) >= 0) {
      this.options.logger.info(
        { idleMs, binlogFile: reader.position.file, binlogPosition: reader.position.position },
        'caught up with the binlog head and idle',
      );
      this.#settle?.resolve('idle');
      return;
    }
    if ((!head || head.sampledAt <= this.#lastOwnChangeAt) && !this.#sampling) {
      this.#sampling = true;
      const sampledAt = Date.now();
      binlogHead(this.options.control)
        .then((coordinate) => {
          this.#idleHead = { coordinate, sampledAt };
        })
        .catch((error: unknown) => this.#fail(error instanceof Error ? error : new Error(String(error))))
        .finally(() => {
          this.#sampling = false;
        });
    }
  }
}
