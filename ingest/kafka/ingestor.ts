/**
 * The Kafka -> Postgres ingestor: a consumer-group member that validates each batch, buffers
 * it as COPY lines, and flushes micro-batches (by size or age) in transactions that also move
 * ingest.kafka_offsets. Postgres is the only source of truth for positions: every assignment
 * resumes from it, and Kafka's group offsets are written afterwards as an advisory copy.
 *
 * Fetching and writing overlap: a batch is held in memory once decoded, so the next fetch can
 * proceed while Postgres copies; when too much is waiting, the batch handler waits too, which
 * stops fetching (backpressure) and bounds memory whatever the backlog.
 */
import { hostname } from 'node:os';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';

import type pg from 'pg';

import { roleUrl, type Config } from '../../lib/config/index.ts';
import { coerceError } from '../../lib/errors.ts';
import { createKafkajsSource } from '../../lib/kafka/kafkajs-source.ts';
import type { BatchControl, PartitionWatermarks, RecordSource, SourceBatch } from '../../lib/kafka/source.ts';
import type { Logger } from '../../lib/logger.ts';
import { createPool } from '../../lib/pg/pool.ts';
import { withRetry } from '../../lib/retry.ts';
import { admitBatch, slices, type PartitionState } from './admit.ts';
import { AdvisoryOffsets } from './advisory.ts';
import { SegmentBuffer, type Segment } from './buffer.ts';
import { flushFigures, IntervalMetrics, memoryFigures, progressFields } from './metrics.ts';
import { loadStoredOffsets, resumeOffset, stepOverNonData, totalRemaining } from './offsets.ts';
import { Signal } from './signal.ts';
import { withClientDeadline } from '../shared/client-watchdog.ts';
import { flushWithRetry } from './flush.ts';
import { DayPartitions } from './partitions.ts';
import { checkWarehouse } from './preflight.ts';
import { insertMetrics, type FlushResult, type MetricsRow } from './warehouse.ts';

export type StopWhen = { mode: 'never' } | { mode: 'idle'; idleMs: number } | { mode: 'caught-up' };

export interface KafkaIngestorOptions {
  config: Config;
  logger: Logger;
  groupId: string;
  topic: string;
  batchRows: number;
  batchMaxMs: number;
  stopWhen?: StopWhen;
  /** Waiting records (decoded, not yet committed) above which fetching pauses. */
  maxPendingRecords?: number;
  maxPendingBytes?: number;
  metricsIntervalMs?: number;
  /** A flush transaction that takes longer is treated as a stalled connection and retried. */
  flushTimeoutMs?: number;
  /** Called after each commit with the commit time, how long the flush took and the records' producer timestamps. */
  onCommitted?: (commit: {
    committedAt: number;
    flushMs: number;
    events: number;
    deadLetters: number;
    timestampsMs: number[][];
    /** Metrics hooks (/metrics): dead letters by error code, commit time minus the oldest record's, and the lag after it. */
    deadLettersByCode: Record<string, number>;
    stalestMs: number | null;
    consumerLag: number | null;
  }) => void;
  /** The Kafka client; kafkajs unless another RecordSource is given. */
  source?: RecordSource;
}

export interface RunSummary {
  reason: 'caught-up' | 'stopped';
  events: number;
  deadLetters: number;
  flushes: number;
}

const APPLICATION_NAME = 'shopflow-ingest-kafka';
/** Records decoded between turns of the event loop (~5-10 ms of work). */
const DECODE_SLICE = 500;

export class KafkaIngestor {
  readonly #o: Required<Omit<KafkaIngestorOptions, 'onCommitted' | 'source'>> & Pick<KafkaIngestorOptions, 'onCommitted'>;
  readonly #log: Logger;
  readonly #source: RecordSource;
  readonly #pool: pg.Pool;
  readonly #connectionString: string;
  readonly #abandonedBackends = new Set<number>();
  readonly #dayPartitions: DayPartitions;
  readonly #buffer = new SegmentBuffer();
  readonly #partitions = new Map<number, PartitionState>();
  readonly #wakeFlusher = new Signal();
  readonly #flushed = new Signal();
  readonly #metrics: IntervalMetrics;
  readonly #instanceId = `${hostname()}-${process.pid}`;
  #assigned: number[] = [];
  #generation = 0;
  #assignedOnce = false;
  #lastActivity = Date.now();
  #inFlight: Promise<void> | undefined;
  #stopping = false;
  #fatal: Error | undefined;
  readonly #advisory: AdvisoryOffsets;
  #targets: Map<number, bigint> | undefined;
  #done: { promise: Promise<RunSummary>; resolve: (s: RunSummary) => void; reject: (e: Error) => void };
  #stopPromise: Promise<RunSummary> | undefined;
  #loop: Promise<void> | undefined;
  #checker: NodeJS.Timeout | undefined;
  #checking = false;
  #poolClosed: Promise<void> | undefined;
  #watermarks: { generation: number; promise: Promise<PartitionWatermarks[]> } | undefined;

  constructor(options: KafkaIngestorOptions) {
    const { config } = options;
    this.#o = {
      config,
      logger: options.logger,
      groupId: options.groupId,
      topic: options.topic,
      batchRows: options.batchRows,
      batchMaxMs: options.batchMaxMs,
      stopWhen: options.stopWhen ?? { mode: 'never' },
      // One batch in flight and one filling is all the overlap throughput needs; more only costs memory.
      maxPendingRecords: options.maxPendingRecords ?? Math.max(2 * options.batchRows, 5_000),
      maxPendingBytes: options.maxPendingBytes ?? 32 * 1024 * 1024,
      metricsIntervalMs: options.metricsIntervalMs ?? 10_000,
      flushTimeoutMs: options.flushTimeoutMs ?? 60_000,
      onCommitted: options.onCommitted,
    };
    this.#log = options.logger;
    this.#metrics = new IntervalMetrics(this.#instanceId, this.#o.metricsIntervalMs);
    this.#connectionString = roleUrl(config, 'ingest_writer');
    this.#pool = createPool({
      connectionString: this.#connectionString,
      applicationName: APPLICATION_NAME,
      max: 3,
      logger: this.#log,
    });
    this.#dayPartitions = new DayPartitions(this.#pool, this.#log);
    this.#source =
      options.source ??
      createKafkajsSource(
        {
          brokers: config.KAFKA_BROKERS,
          clientId: `${config.KAFKA_CLIENT_ID}-ingest`,
          groupId: options.groupId,
          topic: options.topic,
          sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
          partitionsConsumedConcurrently: Math.min(config.KAFKA_PARTITIONS, 8),
        },
        this.#log,
      );
    this.#advisory = new AdvisoryOffsets(this.#source, options.topic, this.#log);
    let resolve!: (s: RunSummary) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<RunSummary>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#done = { promise, resolve, reject };
  }

  /** Connects, joins the group and runs until stopped; resolves with what was loaded. */
  async run(): Promise<RunSummary> {
    await this.#preflight();
    if (this.#o.stopWhen.mode === 'caught-up') {
      const marks = await this.#source.watermarks(this.#o.topic);
      this.#targets = new Map(marks.map((m) => [m.partition, m.high]));
    }
    this.#loop = this.#flushLoop().catch((error: unknown) => this.#fail(coerceError(error)));
    await this.#source.start({
      onBatch: (batch, control) => this.#onBatch(batch, control),
      onAssigned: (assignment) => this.#onAssigned(assignment),
      onFatal: (error) => this.#fail(error),
    });
    this.#log.info(
      {
        group: this.#o.groupId,
        topic: this.#o.topic,
        batchRows: this.#o.batchRows,
        batchMaxMs: this.#o.batchMaxMs,
        stopWhen: this.#o.stopWhen,
      },
      'kafka ingestor running',
    );
    if (this.#o.stopWhen.mode !== 'never') this.#checker = setInterval(() => void this.#checkStop(), 200);
    return this.#done.promise;
  }

  /** Finishes and commits everything already read, leaves the group, closes connections. */
  stop(reason: RunSummary['reason'] = 'stopped'): Promise<RunSummary> {
    this.#stopPromise ??= (async () => {
      this.#stopping = true;
      if (this.#checker) clearInterval(this.#checker);
      this.#wakeFlusher.notify();
      this.#flushed.notify();
      await this.#loop;
      if (this.#fatal) throw this.#fatal;
      await this.#writeFinalMetrics();
      await this.#source.stop();
      await this.#closePool();
      const totals = this.#metrics.totals;
      const summary: RunSummary = { reason, events: totals.events, deadLetters: totals.deadLetters, flushes: totals.flushes };
      this.#log.info(summary, 'kafka ingestor stopped');
      this.#done.resolve(summary);
      return summary;
    })();
    return this.#stopPromise;
  }

  async #preflight(): Promise<void> {
    try {
      await checkWarehouse(this.#pool, this.#o.config.WAREHOUSE_URL, this.#log, () => this.#dayPartitions.ensure());
    } catch (error) {
      await this.#closePool();
      throw error;
    }
  }

  #onAssigned(assignment: { topic: string; partitions: number[] }[]): void {
    // Any read position from before the rebalance may be stale (another member may have moved
    // the partition on); forget them and reload from the warehouse on each partition's next batch.
    this.#generation++;
    this.#assigned = [...(assignment.find((a) => a.topic === this.#o.topic)?.partitions ?? [])].sort((a, b) => a - b);
    this.#partitions.clear();
    this.#buffer.clear();
    this.#assignedOnce = true;
    this.#lastActivity = Date.now();
    this.#flushed.notify();
    this.#log.info({ partitions: this.#assigned, generation: this.#generation }, 'partitions assigned');
  }

  async #onBatch(batch: SourceBatch, control: BatchControl): Promise<void> {
    if (this.#stopping || batch.topic !== this.#o.topic) return;
    const generation = this.#generation;
    let state = this.#partitions.get(batch.partition);
    if (!state || state.generation !== generation) {
      const loaded = await this.#loadPartition(batch.partition, generation);
      if (this.#stopping || generation !== this.#generation) return;
      state = this.#partitions.get(batch.partition) ?? loaded;
      this.#partitions.set(batch.partition, state);
    }
    state.highWatermark = batch.highWatermark;
    // Decoding a fetch's worth of records takes tens of milliseconds; in slices, with a turn of
    // the event loop between them, the COPY in flight keeps getting fed meanwhile.
    for (const slice of slices(batch, DECODE_SLICE)) {
      if (slice !== batch) {
        await setImmediate();
        // Stopped, rebalanced, or fenced by another member (its state was dropped) meanwhile.
        if (this.#stopping || generation !== this.#generation || this.#partitions.get(batch.partition) !== state) return;
      }
      if (!this.#admit(slice, state, generation, control)) return;
    }
    // Backpressure: while too much waits for Postgres, keep this handler (and so fetching) waiting.
    while (!this.#stopping && generation === this.#generation && this.#overLimit()) {
      this.#wakeFlusher.notify();
      await this.#flushed.wait(1_000);
      if (!this.#stopping && generation === this.#generation) await control.heartbeat();
    }
  }

  /** Takes one (slice of a) batch into the buffer; false when reading must restart elsewhere (a seek). */
  #admit(batch: SourceBatch, state: PartitionState, generation: number, control: BatchControl): boolean {
    const admission = admitBatch(state, batch, generation, Date.now(), { maxKeyBytes: this.#o.config.KAFKA_MAX_KEY_BYTES });
    switch (admission.kind) {
      case 'empty':
        return true;
      case 'held':
        if (admission.heldUpTo >= 0n) control.markHeld(admission.heldUpTo);
        return true;
      case 'seek':
        this.#log.debug(
          { partition: batch.partition, from: batch.messages[0]?.offset, to: admission.offset },
          'batch starts past the held position, seeking back',
        );
        this.#source.seek({ topic: this.#o.topic, partition: batch.partition, offset: admission.offset });
        return false;
      case 'segment': {
        const { segment, skippedTo } = admission;
        if (skippedTo !== null)
          this.#log.warn(
            { partition: batch.partition, expected: String(state.next), got: String(skippedTo) },
            'offsets missing from the log (retention, compaction or transaction markers); skipping them',
          );
        const wasEmpty = this.#buffer.isEmpty;
        this.#buffer.push(segment);
        state.next = segment.end;
        control.markHeld(segment.end - 1n);
        this.#lastActivity = Date.now();
        // The flusher sleeps while nothing waits; the first segment starts its age clock.
        if (wasEmpty || this.#buffer.records >= this.#o.batchRows) this.#wakeFlusher.notify();
        return true;
      }
    }
  }

  #overLimit(): boolean {
    return this.#buffer.records >= this.#o.maxPendingRecords || this.#buffer.bytes >= this.#o.maxPendingBytes;
  }

  async #loadPartition(partition: number, generation: number): Promise<PartitionState> {
    // The flush in flight may hold this partition's records from before the rebalance: read
    // after it lands. Later flushes cannot (the buffer was cleared and this partition has no state).
    await this.#inFlight?.catch(() => undefined);
    const stored = await withRetry(
      () => this.#withDeadline((client) => loadStoredOffsets(client, this.#o.groupId, this.#o.topic, [partition])),
      {
        maxDelayMs: 10_000,
        onRetry: (err, attempt, delayMs) => this.#log.warn({ err, attempt, delayMs }, 'cannot read stored offsets, retrying'),
      },
    );
    const marks = (await this.#assignmentWatermarks(generation)).find((w) => w.partition === partition);
    const storedOffset = stored.get(partition);
    const position = storedOffset ?? resumeOffset(undefined, marks);
    const logStart = marks?.low ?? 0n;
    if (storedOffset !== undefined && storedOffset < logStart) {
      this.#log.warn(
        { partition, stored: String(storedOffset), logStart: String(logStart) },
        'records were deleted by retention before they were loaded',
      );
    }
    this.#log.info(
      { partition, resumeAt: String(position), stored: storedOffset !== undefined },
      'resuming partition from the warehouse position',
    );
    // No seek here: admitBatch skips records already held and seeks when a batch starts too late.
    return { committed: position, next: position, logStart, highWatermark: marks?.high ?? 0n, generation };
  }

  /** One watermark lookup per assignment, shared by the partitions loading at once. */
  #assignmentWatermarks(generation: number): Promise<PartitionWatermarks[]> {
    if (this.#watermarks?.generation !== generation) {
      const promise = this.#source.watermarks(this.#o.topic);
      this.#watermarks = { generation, promise };
      promise.catch(() => {
        if (this.#watermarks?.promise === promise) this.#watermarks = undefined;
      });
    }
    return this.#watermarks!.promise;
  }

  #flushDue(now: number): boolean {
    if (this.#buffer.isEmpty) return false;
    if (this.#stopping || this.#buffer.records >= this.#o.batchRows || this.#overLimit()) return true;
    return now - this.#buffer.oldestWaitingSince! >= this.#o.batchMaxMs;
  }

  async #flushLoop(): Promise<void> {
    for (;;) {
      if (this.#fatal) return;
      const now = Date.now();
      if (!this.#flushDue(now)) {
        if (this.#stopping && this.#buffer.isEmpty) return;
        const oldest = this.#buffer.oldestWaitingSince;
        await this.#wakeFlusher.wait(oldest === undefined ? 1_000 : this.#o.batchMaxMs - (now - oldest));
        continue;
      }
      const segments = this.#buffer.take(this.#o.batchRows);
      this.#inFlight = this.#flush(segments);
      try {
        await this.#inFlight;
      } finally {
        this.#inFlight = undefined;
        this.#flushed.notify();
      }
    }
  }

  async #flush(segments: Segment[]): Promise<void> {
    const started = performance.now();
    const metrics = this.#metrics.isDue() ? this.#metricsRow() : undefined;
    await this.#dayPartitions.ensureIfDue();
    const result = await flushWithRetry(this.#pool, { groupId: this.#o.groupId, topic: this.#o.topic }, segments, {
      timeoutMs: this.#o.flushTimeoutMs,
      connectionString: this.#connectionString,
      abandoned: this.#abandonedBackends,
      logger: this.#log,
      ...(metrics ? { metrics } : {}),
    });
    this.#afterCommit(segments, result, performance.now() - started);
  }

  #afterCommit(segments: Segment[], result: FlushResult, batchMs: number): void {
    const committedAt = Date.now();
    for (const [partition, next] of result.committed) {
      const state = this.#partitions.get(partition);
      if (state && state.generation === segments[0]!.generation) state.committed = next;
      this.#advisory.note(partition, next);
    }
    for (const [partition, stored] of result.fenced) {
      this.#log.warn(
        { partition, stored: String(stored) },
        'another consumer already committed this partition further; dropping what was read and resuming from the warehouse',
      );
      this.#partitions.delete(partition);
      this.#buffer.dropPartition(partition);
      this.#source.seek({ topic: this.#o.topic, partition, offset: stored });
    }
    const accepted = segments.filter((s) => result.committed.has(s.partition));
    const figures = flushFigures(accepted, result, batchMs, committedAt);
    this.#metrics.record(figures);
    this.#log.debug({ ...figures, batchMs: Math.round(batchMs), consumerLag: this.#consumerLag() }, 'flush committed');
    this.#o.onCommitted?.({
      committedAt,
      flushMs: batchMs,
      events: result.eventsLoaded,
      deadLetters: result.deadLettersLoaded,
      timestampsMs: accepted.map((s) => s.timestampsMs),
      deadLettersByCode: figures.deadLettersByCode,
      stalestMs: figures.stalestMs,
      consumerLag: this.#consumerLag(),
    });
    if (!this.#stopping) this.#advisory.send();
  }

  #consumerLag(): number | null {
    if (this.#partitions.size === 0) return null;
    let lag = 0n;
    for (const state of this.#partitions.values()) if (state.highWatermark > state.committed) lag += state.highWatermark - state.committed;
    return Number(lag);
  }

  #metricsRow(): MetricsRow {
    const row = this.#metrics.takeRow(this.#consumerLag(), {
      group: this.#o.groupId,
      topic: this.#o.topic,
      partitions: this.#assigned,
      pending_records: this.#buffer.records,
    });
    const fields = { ...progressFields(row), pendingRecords: this.#buffer.records, memory: memoryFigures() };
    // Dead letters are worth a look (raw.dead_letters has each reason), so those intervals log at warn.
    if (row.deadLetters > 0) this.#log.warn(fields, 'ingest progress (with dead letters)');
    else this.#log.info(fields, 'ingest progress');
    return row;
  }

  async #writeFinalMetrics(): Promise<void> {
    if (!this.#metrics.isDue(Number.POSITIVE_INFINITY)) return;
    await this.#withDeadline((client) => insertMetrics(client, this.#metricsRow())).catch((err: unknown) =>
      this.#log.warn({ err }, 'could not record final metrics'),
    );
  }

  async #checkStop(): Promise<void> {
    if (this.#checking || this.#stopping || !this.#assignedOnce) return;
    if (!this.#buffer.isEmpty || this.#inFlight) return;
    const stopWhen = this.#o.stopWhen;
    if (stopWhen.mode === 'idle' && Date.now() - this.#lastActivity < stopWhen.idleMs) return;
    this.#checking = true;
    try {
      const partitions = this.#assigned;
      const stored = await this.#withDeadline((client) => loadStoredOffsets(client, this.#o.groupId, this.#o.topic, partitions));
      const marks = await this.#source.watermarks(this.#o.topic);
      const positions = stepOverNonData(partitions, stored, marks, (p) => this.#source.nonDataRun?.(this.#o.topic, p));
      const behind = totalRemaining(partitions, positions, marks, this.#targets);
      if (behind === 0n && this.#buffer.isEmpty && !this.#inFlight && !this.#stopping) {
        this.#log.info({ partitions, mode: stopWhen.mode }, 'caught up, stopping');
        void this.stop('caught-up').catch((error: unknown) => this.#fail(coerceError(error)));
      } else if (stopWhen.mode === 'idle') {
        this.#lastActivity = Date.now();
      }
    } catch (err) {
      this.#log.debug({ err }, 'caught-up check failed; will check again');
      await sleep(500);
    } finally {
      this.#checking = false;
    }
  }

  #fail(error: Error): void {
    if (this.#fatal) return;
    this.#fatal = error;
    this.#stopping = true;
    if (this.#checker) clearInterval(this.#checker);
    this.#wakeFlusher.notify();
    this.#flushed.notify();
    this.#log.error({ err: error }, 'kafka ingestor failed');
    void Promise.allSettled([this.#source.stop(), this.#closePool()]).then(() => this.#done.reject(error));
  }

  /** Small queries get the same stall protection as flushes (a fraction of the flush deadline). */
  #withDeadline<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withClientDeadline(this.#pool, Math.max(1_000, Math.round(this.#o.flushTimeoutMs / 2)), work);
  }

  #closePool(): Promise<void> {
    this.#poolClosed ??= this.#pool.end().catch((err: unknown) => this.#log.debug({ err }, 'pool close failed'));
    return this.#poolClosed;
  }
}
