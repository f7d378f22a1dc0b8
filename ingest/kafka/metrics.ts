/**
 * Throughput, freshness and lag, summed per reporting interval: one log line and one
 * ingest.metrics row per interval (not per flush), so a busy ingestor stays cheap to watch.
 */
import type { Segment } from './buffer.ts';
import type { FlushResult, MetricsRow } from './warehouse.ts';

export const METRICS_COMPONENT = 'ingest-kafka';

/**
 * Producer timestamps that say nothing about freshness are left out of the lag figures: older
 * than a year before the commit (an unset clock writes 0, which read as a 57-year lag) or more
 * than five minutes after it (a clock running ahead). A little skew ahead counts as lag 0.
 */
export const MAX_PLAUSIBLE_LAG_MS = 366 * 24 * 3600 * 1000;
export const MAX_CLOCK_AHEAD_MS = 5 * 60 * 1000;

export interface FlushFigures {
  events: number;
  deadLetters: number;
  rejectedByWarehouse: number;
  batchMs: number;
  /** Commit time minus the newest / oldest producer timestamp in the flush. */
  freshestMs: number | null;
  stalestMs: number | null;
  deadLettersByCode: Record<string, number>;
  /** Records whose producer timestamp was left out of the lag figures (MAX_PLAUSIBLE_LAG_MS, MAX_CLOCK_AHEAD_MS). */
  implausibleTimestamps: number;
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
  #implausible = 0;
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
    this.#implausible += f.implausibleTimestamps;
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
        implausible_timestamps: this.#implausible,
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
    this.#implausible = 0;
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
  let implausible = 0;
  const earliest = committedAt - MAX_PLAUSIBLE_LAG_MS;
  const latest = committedAt + MAX_CLOCK_AHEAD_MS;
  const byCode: Record<string, number> = {};
  for (const s of accepted) {
    for (const t of s.timestampsMs) {
      if (!(t >= earliest && t <= latest)) {
        implausible += 1;
        continue;
      }
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
    freshestMs: Number.isFinite(newest) ? Math.max(0, committedAt - newest) : null,
    stalestMs: Number.isFinite(oldest) ? Math.max(0, committedAt - oldest) : null,
    deadLettersByCode: byCode,
    implausibleTimestamps: implausible,
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
