/**
 * Runs a backfill in memory (no sinks) and collects what it would write, so unit tests can
 * check the world's contents, arithmetic and determinism without any service.
 */
import { createHash } from 'node:crypto';

import { AnomalyInjector } from '../../generator/anomalies/injector.ts';
import { Manifest } from '../../generator/anomalies/manifest.ts';
import { createBackfill, type Backfill } from '../../generator/backfill.ts';
import { PROPORTIONS } from '../../generator/params.ts';
import { parseDay } from '../../generator/world/calendar.ts';
import { COLUMNS, type Row, type TableName } from '../../generator/world/rows.ts';
import { WRITE_ORDER, type OutgoingMessage } from '../../generator/world/batch.ts';

export interface MemoryWorldOptions {
  seed?: number;
  from?: string;
  days?: number;
  customers?: number;
  products?: number;
  orders?: number;
  anomalyRate?: number;
  maxMessagesPerBatch?: number;
  /** False: messages are only counted (as in a run without a Kafka sink); `messages` then has empty keys and values. */
  messageBodies?: boolean;
}

export interface MemoryWorld {
  backfill: Backfill;
  /** Final state of every table (upserts applied), keyed by primary key. */
  tables: Record<TableName, Map<number, Record<string, string | number | null>>>;
  /** Every row written, in write order, with its kind. */
  writes: { table: TableName; kind: 'insert' | 'upsert'; row: Row; batch: string }[];
  /** Messages in send order, with the batch they went out in. */
  messages: (OutgoingMessage & { batch: string })[];
  manifest: Manifest | null;
  /** sha256 of everything written, in order. */
  digest: string;
  /** Batches the days were handed on in. */
  batches: number;
}

/**
 * Async so the test worker's event loop gets a turn between days: a long synchronous run starves
 * vitest's worker RPC and fails the run with "Timeout calling onTaskUpdate".
 */
export async function generateInMemory(options: MemoryWorldOptions = {}): Promise<MemoryWorld> {
  const seed = options.seed ?? 7;
  const manifest = options.anomalyRate ? new Manifest(null, { keepInMemory: true }) : null;
  const backfill = createBackfill({
    seed,
    startMs: parseDay(options.from ?? '2024-01-01'),
    days: options.days ?? 90,
    customers: options.customers ?? 300,
    products: options.products ?? 120,
    orders: options.orders ?? 1_500,
    p: PROPORTIONS,
    next: { customer: 1, product: 1, order: 1, orderItem: 1, payment: 1, restock: 1 },
    ...(options.maxMessagesPerBatch ? { maxMessagesPerBatch: options.maxMessagesPerBatch } : {}),
    ...(options.messageBodies === false ? { messageBodies: false } : {}),
    ...(manifest ? { anomalies: new AnomalyInjector({ seed, rate: options.anomalyRate!, manifest, lateHoldSteps: [1, 3] }) } : {}),
  });
  const tables = Object.fromEntries(Object.keys(COLUMNS).map((t) => [t, new Map()])) as MemoryWorld['tables'];
  const writes: MemoryWorld['writes'] = [];
  const messages: MemoryWorld['messages'] = [];
  const hash = createHash('sha256');
  let batches = 0;
  for (const batch of backfill.days) {
    if (typeof batch === 'symbol') continue;
    batches++;
    await new Promise((resolve) => setImmediate(resolve));
    for (const { table, kind } of WRITE_ORDER) {
      for (const row of (kind === 'insert' ? batch.inserts : batch.upserts).get(table) ?? []) {
        writes.push({ table, kind, row, batch: batch.label });
        hash.update(`${table}|${kind}|${JSON.stringify(row)}\n`);
        const record = Object.fromEntries(COLUMNS[table].map((c, i) => [c, row[i]!]));
        const key = Number(row[0]);
        if (kind === 'insert' && tables[table].has(key)) throw new Error(`duplicate insert of ${table} ${key}`);
        if (kind === 'upsert' && !tables[table].has(key)) throw new Error(`upsert of missing ${table} ${key}`);
        tables[table].set(key, kind === 'upsert' ? { ...record, created_at: tables[table].get(key)!.created_at! } : record);
      }
    }
    if (!batch.keepsMessageBodies) {
      for (const i of batch.messages.ordered())
        messages.push({ key: '', value: '', time: batch.messages.time(i), type: batch.messages.type(i), batch: batch.label });
      continue;
    }
    for (const m of batch.orderedMessages()) {
      messages.push({ ...m, batch: batch.label });
      hash.update(`${m.key}|${m.value}\n`);
    }
  }
  return { backfill, tables, writes, messages, manifest, digest: hash.digest('hex'), batches };
}

export const cents = (decimal: string | number | null): number => Math.round(Number(decimal) * 100);
