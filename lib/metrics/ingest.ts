/**
 * The ingestors' metrics, one set for both sources (label `source`: kafka or cdc), named by
 * Prometheus conventions: base units (seconds), `_total` for counters, `_timestamp_seconds`
 * for points in time. The alert rules (docker/prometheus/rules.yml) are written against these.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type IngestSource = 'kafka' | 'cdc';

export interface IngestMetrics {
  /** One committed batch: its rows, dead letters (by code), duration and freshness. */
  batch(figures: {
    rows: number;
    deadLettersByCode?: Record<string, number>;
    durationSeconds: number;
    freshnessSeconds?: number | null;
  }): void;
  /** Rows a snapshot landed (its batches are not timed one by one). */
  snapshotRows(rows: number): void;
  /** Kafka: records in the topic not yet committed by this group (for this member's partitions). */
  consumerLag(messages: number | null): void;
  /** CDC: source commit to warehouse commit of the newest transaction landed. */
  cdcLag(seconds: number | null): void;
}

const BATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function ingestMetrics(registry: Registry, source: IngestSource, labels: { topic?: string; group?: string } = {}): IngestMetrics {
  const rows = new Counter({
    name: 'shopflow_ingest_rows_total',
    help: 'Rows landed in raw.* (events or change rows), committed with their source position.',
    labelNames: ['source'],
    registers: [registry],
  });
  const dead = new Counter({
    name: 'shopflow_ingest_dead_letters_total',
    help: 'Records kept in raw.dead_letters instead of landing, by error code.',
    labelNames: ['source', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'shopflow_ingest_batch_duration_seconds',
    help: 'Time to land one batch (COPY and position commit).',
    labelNames: ['source'],
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const last = new Gauge({
    name: 'shopflow_ingest_last_batch_timestamp_seconds',
    help: 'When the last batch committed (Unix time).',
    labelNames: ['source'],
    registers: [registry],
  });
  const freshness = new Gauge({
    name: 'shopflow_ingest_freshness_seconds',
    help: 'Age of the oldest record of the last batch when it committed.',
    labelNames: ['source'],
    registers: [registry],
  });
  // Each source exports only its own lag: a gauge without labels would read 0 on the other.
  const lag =
    source === 'kafka'
      ? new Gauge({
          name: 'shopflow_ingest_kafka_consumer_lag_messages',
          help: "Records in the topic this member's partitions have not committed yet.",
          labelNames: ['topic', 'group'],
          registers: [registry],
        })
      : null;
  const cdcLag =
    source === 'cdc'
      ? new Gauge({
          name: 'shopflow_ingest_cdc_lag_seconds',
          help: 'Source commit to warehouse commit of the newest source transaction landed.',
          registers: [registry],
        })
      : null;
  // Present from the start, so a rate over a fresh process reads 0 rather than nothing.
  rows.inc({ source }, 0);
  lag?.set({ topic: labels.topic ?? '', group: labels.group ?? '' }, 0);
  return {
    batch(f) {
      rows.inc({ source }, f.rows);
      for (const [code, n] of Object.entries(f.deadLettersByCode ?? {})) if (n > 0) dead.inc({ source, code }, n);
      duration.observe({ source }, f.durationSeconds);
      last.set({ source }, Date.now() / 1000);
      if (f.freshnessSeconds !== undefined && f.freshnessSeconds !== null) freshness.set({ source }, f.freshnessSeconds);
    },
    snapshotRows(n) {
      if (n <= 0) return;
      rows.inc({ source }, n);
      last.set({ source }, Date.now() / 1000);
    },
    consumerLag(messages) {
      if (messages !== null) lag?.set({ topic: labels.topic ?? '', group: labels.group ?? '' }, messages);
    },
    cdcLag(seconds) {
      if (seconds !== null) cdcLag?.set(seconds);
    },
  };
}
