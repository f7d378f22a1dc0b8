/**
 * Throughput, freshness and lag, summed per reporting interval: one log line and one
 * ingest.metrics row per interval (not per flush), so a busy ingestor stays cheap to watch.
 */
import type { Segment } from './buffer.ts';
import type { FlushResult, MetricsRow } from './warehouse.ts';

export const METRICS_COMPONENT = 'ingest-kafka';

export interface FlushFigures {
  events: number;
  deadLetters: number;
  rejectedByWarehouse: number;
  batchMs: number;
  /** Commit time minus the newest / oldest producer timestamp in the flush. */
  freshestMs: number | null;
  stalestMs: number | null;
  deadLettersByCode: Record<string, number>;
}

export class IntervalMetrics {
  readonly #instanceId: string;
  readonly #intervalMs: number;
  #startedAt: number;
  #events = 0;
  #deadLetters = 0;
  #rejected = 0;
  #flushes = 0;
  #batchMsTotal = 0;
  #batchMsMax = 0;
  #stalestMs: number | null = null;
  #byCode: Record<string, number> = {};
  #totals = { events: 0, deadLetters: 0, flushes: 0 };

  constructor(instanceId: string, intervalMs: number, now = Date.now()) {
    this.#instanceId = instanceId;
    this.#intervalMs = intervalMs;
    this.#startedAt = now;
  }

  get totals(): { events: number; deadLetters: number; flushes: number } {
    return { ...this.#totals };
  }

  record(f: FlushFigures): void {
    this.#events += f.events;
    this.#deadLetters += f.deadLetters;
    this.#rejected += f.rejectedByWarehouse;
    this.#flushes += 1;
    this.#batchMsTotal += f.batchMs;
    this.#batchMsMax = Math.max(this.#batchMsMax, f.batchMs);
    if (f.stalestMs !== null) this.#stalestMs = Math.max(this.#stalestMs ?? 0, f.stalestMs);
    for (const [code, n] of Object.entries(f.deadLettersByCode)) this.#byCode[code] = (this.#byCode[code] ?? 0) + n;
    this.#totals.events += f.events;
    this.#totals.deadLetters += f.deadLetters;
    this.#totals.flushes += 1;
  }

  isDue(now = Date.now()): boolean {
    return now - this.#startedAt >= this.#intervalMs && this.#flushes > 0;
  }

  /** The interval's figures as a metrics row, and a fresh interval started. */
  takeRow(consumerLag: number | null, context: Record<string, unknown>, now = Date.now()): MetricsRow {
    const seconds = Math.max(0.001, (now - this.#startedAt) / 1000);
    const row: MetricsRow = {
      component: METRICS_COMPONENT,
      instanceId: this.#instanceId,
      rowsLoaded: this.#events,
      deadLetters: this.#deadLetters,
      batchMs: this.#flushes === 0 ? 0 : round(this.#batchMsTotal / this.#flushes),
      rowsPerSecond: round((this.#events + this.#deadLetters) / seconds),
      lagMs: this.#stalestMs,
      consumerLag,
      details: {
        ...context,
        interval_seconds: round(seconds),
        flushes: this.#flushes,
        batch_ms_max: round(this.#batchMsMax),
        warehouse_rejected: this.#rejected,
        dead_letters_by_code: this.#byCode,
      },
    };
    this.#startedAt = now;
    this.#events = 0;
    this.#deadLetters = 0;
    this.#rejected = 0;
    this.#flushes = 0;
    this.#batchMsTotal = 0;
    this.#batchMsMax = 0;
    this.#stalestMs = null;
    this.#byCode = {};
    return row;
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** What one committed flush adds to the interval: counts, duration, freshness, dead letters by code. */
export function flushFigures(accepted: Segment[], result: FlushResult, batchMs: number, committedAt: number): FlushFigures {
  let oldest = Infinity;
  let newest = -Infinity;
  const byCode: Record<string, number> = {};
  for (const s of accepted) {
    for (const t of s.timestampsMs) {
      if (t < oldest) oldest = t;
      if (t > newest) newest = t;
    }
    for (const d of s.deadLetters) byCode[d.code] = (byCode[d.code] ?? 0) + 1;
  }
  if (result.rejectedByWarehouse > 0) byCode.warehouse_rejected = (byCode.warehouse_rejected ?? 0) + result.rejectedByWarehouse;
  return {
    events: result.eventsLoaded,
    deadLetters: result.deadLettersLoaded,
    rejectedByWarehouse: result.rejectedByWarehouse,
    batchMs,
    freshestMs: Number.isFinite(newest) ? committedAt - newest : null,
    stalestMs: Number.isFinite(oldest) ? committedAt - oldest : null,
    deadLettersByCode: byCode,
  };
}

/** Process memory in MB: RSS, JS heap, and off-heap buffers (fetched Kafka data lives there). */
export function memoryFigures(): { rssMb: number; heapUsedMb: number; externalMb: number } {
  const m = process.memoryUsage();
  const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), externalMb: mb(m.external + m.arrayBuffers) };
}

/** The interval's figures as log fields. */
export function progressFields(row: MetricsRow): Record<string, unknown> {
  return {
    rowsPerSecond: row.rowsPerSecond,
    rows: row.rowsLoaded,
    deadLetters: row.deadLetters,
    deadLettersByCode: row.details.dead_letters_by_code,
    batchMs: row.batchMs,
    lagMs: row.lagMs,
    consumerLag: row.consumerLag,
  };
}
