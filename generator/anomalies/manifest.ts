/**
 * The anomalies manifest: one JSON object per line for every injected anomaly, with the ids and
 * keys it touched, so tests (and people) can check each one is caught downstream. Entries hold
 * simulated times only, so the same seed writes the same manifest.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';

export type AnomalyKind =
  | 'duplicate_event'
  | 'late_event'
  | 'malformed_invalid_json'
  | 'malformed_missing_field'
  | 'malformed_wrong_type'
  | 'malformed_negative_price'
  | 'malformed_oversized'
  | 'fraud_card_across_countries'
  | 'fraud_high_value_new_account'
  | 'fraud_failed_payment_burst'
  | 'low_stock';

export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  'duplicate_event',
  'late_event',
  'malformed_invalid_json',
  'malformed_missing_field',
  'malformed_wrong_type',
  'malformed_negative_price',
  'malformed_oversized',
  'fraud_card_across_countries',
  'fraud_high_value_new_account',
  'fraud_failed_payment_burst',
  'low_stock',
];

export interface ManifestEntry {
  kind: AnomalyKind;
  /** Simulated time the anomaly happened (ISO-8601). */
  at: string;
  [detail: string]: unknown;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Collects entries; writes them as JSONL when a path is given (null: count only, for dry runs and tests). */
export class Manifest {
  readonly path: string | null;
  readonly counts = new Map<AnomalyKind, number>();
  readonly entries: ManifestEntry[] | null;
  #stream: WriteStream | null = null;
  #error: Error | null = null;

  constructor(path: string | null, options: { keepInMemory?: boolean } = {}) {
    this.path = path;
    this.entries = options.keepInMemory ? [] : null;
    if (path) {
      mkdirSync(dirname(path), { recursive: true });
      this.#stream = createWriteStream(path, { flags: 'w' });
      this.#stream.on('error', (error) => {
        this.#error = error;
      });
    }
  }

  record(entry: ManifestEntry): void {
    if (this.#error) throw this.#error;
    this.counts.set(entry.kind, (this.counts.get(entry.kind) ?? 0) + 1);
    this.entries?.push(entry);
    this.#stream?.write(`${JSON.stringify(entry)}\n`);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  async close(): Promise<void> {
    const stream = this.#stream;
    this.#stream = null;
    if (stream) {
      stream.end();
      await once(stream, 'finish');
    }
    if (this.#error) throw this.#error;
  }
}
