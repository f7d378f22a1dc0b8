/**
 * The exactly-once write: one Postgres transaction lands a flush's events and dead letters and
 * moves ingest.kafka_offsets to the end of what it covers. The offset rows are locked first and
 * compared with where each segment starts; a partition whose stored offset differs (another
 * group member got there first, or this process is a zombie after a rebalance) is left out and
 * reported as fenced, so no offset is ever written twice.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { ident } from '../../lib/pg/pool.ts';
import { DEAD_LETTER_SOURCE } from '../../lib/warehouse/dead-letter-sources.ts';
import { copyLines } from '../shared/copy-stream.ts';
import { copyBytea, copyLine, copyNullable, copyText, COPY_NULL } from '../shared/copy-text.ts';
import { EVENT_COLUMNS, KEY_FIELD, type DeadLetter } from './decode.ts';
import { recordsOf, type Segment } from './buffer.ts';

export interface FlushTarget {
  groupId: string;
  topic: string;
}

export interface MetricsRow {
  component: string;
  instanceId: string;
  rowsLoaded: number;
  deadLetters: number;
  batchMs: number;
  rowsPerSecond: number;
  lagMs: number | null;
  consumerLag: number | null;
  details: Record<string, unknown>;
}

export interface FlushResult {
  /** Partition -> next offset now stored, for partitions this flush committed. */
  committed: Map<number, bigint>;
  /** Partition -> next offset found stored, for partitions left out because it did not match. */
  fenced: Map<number, bigint>;
  eventsLoaded: number;
  deadLettersLoaded: number;
  /** Events Postgres itself refused (found by bisection), now dead letters. */
  rejectedByWarehouse: number;
}

const EVENTS_TARGET = `raw.shop_events (${EVENT_COLUMNS.map(ident).join(', ')})`;
const DEAD_LETTER_TARGET =
  'raw.dead_letters (source, topic, kafka_partition, kafka_offset, source_position, message_key, payload, payload_bytes, error_code, reason, details)';

/**
 * SQLSTATEs meaning "this data cannot be stored": find the row, dead-letter it, go on. Class 22
 * (data exception), 54000 (a value past a program limit) and 54001 (a JSON value nested deeper
 * than jsonb's parser recurses). Anything else is the warehouse's state, not the row's, and is
 * retried or stops the ingestor.
 */
export const DATA_ERROR_SQLSTATES: readonly string[] = ['54000', '54001'];

export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || DATA_ERROR_SQLSTATES.includes(code));
}

/**
 * Writes segments in one transaction. With `isolateBadRows`, events are copied in halving
 * groups under savepoints so rows Postgres rejects become `warehouse_rejected` dead letters
 * instead of failing the flush (the slow path after a data error).
 */
export async function writeFlush(
  client: pg.PoolClient,
  target: FlushTarget,
  segments: Segment[],
  options: { isolateBadRows?: boolean; metrics?: MetricsRow } = {},
): Promise<FlushResult> {
  const ranges = partitionRanges(segments);
  const partitions = [...ranges.keys()];
  const starts = partitions.map((p) => ranges.get(p)!.start.toString());
  await client.query('BEGIN');
  // Create missing offset rows at the segment start (only the first flush of a partition ever
  // does), then lock them all so concurrent writers of a partition take turns.
  await client.query(
    `insert into ingest.kafka_offsets (consumer_group, topic, kafka_partition, next_offset)
     select $1, $2, p, o from unnest($3::int[], $4::bigint[]) as v(p, o)
     on conflict (consumer_group, topic, kafka_partition) do nothing`,
    [target.groupId, target.topic, partitions, starts],
  );
  const stored = await client.query<{ kafka_partition: number; next_offset: string }>(
    `select kafka_partition, next_offset from ingest.kafka_offsets
     where consumer_group = $1 and topic = $2 and kafka_partition = any($3::int[])
     order by kafka_partition for update`,
    [target.groupId, target.topic, partitions],
  );
  const fenced = new Map<number, bigint>();
  for (const row of stored.rows) {
    const next = BigInt(row.next_offset);
    if (next !== ranges.get(row.kafka_partition)!.start) fenced.set(row.kafka_partition, next);
  }
  const accepted = segments.filter((s) => !fenced.has(s.partition));
  const deadLetters: { partition: number; letter: DeadLetter }[] = [];
  for (const s of accepted) for (const letter of s.deadLetters) deadLetters.push({ partition: s.partition, letter });

  let eventsLoaded = 0;
  let rejectedByWarehouse = 0;
  if (options.isolateBadRows) {
    const outcome = await copyIsolatingBadRows(client, accepted.flatMap(eventRowsOf));
    eventsLoaded = outcome.loaded;
    rejectedByWarehouse = outcome.rejected.length;
    deadLetters.push(...outcome.rejected);
  } else {
    eventsLoaded = await copyBuffers(
      client,
      EVENTS_TARGET,
      accepted.filter((s) => s.events > 0).map((s) => s.copy),
    );
  }
  if (deadLetters.length > 0) {
    await copyLines(
      client,
      DEAD_LETTER_TARGET,
      deadLetters.map(({ partition, letter }) => deadLetterLine(target.topic, partition, letter)),
    );
  }
  const committed = new Map<number, bigint>();
  for (const [p, range] of ranges) if (!fenced.has(p)) committed.set(p, range.end);
  if (committed.size > 0) {
    await client.query(
      `update ingest.kafka_offsets o set next_offset = v.next_offset, updated_at = now()
       from unnest($3::int[], $4::bigint[]) as v(kafka_partition, next_offset)
       where o.consumer_group = $1 and o.topic = $2 and o.kafka_partition = v.kafka_partition`,
      [target.groupId, target.topic, [...committed.keys()], [...committed.values()].map(String)],
    );
  }
  if (options.metrics) await insertMetrics(client, options.metrics);
  await client.query('COMMIT');
  return { committed, fenced, eventsLoaded, deadLettersLoaded: deadLetters.length, rejectedByWarehouse };
}

export async function insertMetrics(client: pg.PoolClient | pg.Pool, m: MetricsRow): Promise<void> {
  await client.query(
    `insert into ingest.metrics (component, instance_id, rows_loaded, dead_letters, batch_ms, rows_per_second, lag_ms, consumer_lag, details)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [m.component, m.instanceId, m.rowsLoaded, m.deadLetters, m.batchMs, m.rowsPerSecond, m.lagMs, m.consumerLag, JSON.stringify(m.details)],
  );
}

/**
 * `COPY <target> FROM STDIN` with data already in COPY text form, one write per buffer (a
 * segment's lines: a few hundred KB at most). Returns the row count Postgres reports.
 */
async function copyBuffers(client: pg.PoolClient, target: string, buffers: Buffer[]): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
  await pipeline(Readable.from(buffers, { objectMode: false }), stream);
  return stream.rowCount ?? 0;
}

interface EventRow {
  partition: number;
  line: Buffer;
  source: Buffer;
}

/** A segment's events one COPY line each with its message value (a line's own newlines are escaped, so a newline byte ends it). */
function eventRowsOf(segment: Segment): EventRow[] {
  const rows: EventRow[] = [];
  let from = 0;
  for (let i = 0; i < segment.events; i++) {
    const end = segment.copy.indexOf(10, from) + 1;
    rows.push({
      partition: segment.partition,
      line: segment.copy.subarray(from, end),
      source: segment.sources.subarray(i === 0 ? 0 : segment.sourceEnds[i - 1], segment.sourceEnds[i]),
    });
    from = end;
  }
  return rows;
}

function partitionRanges(segments: Segment[]): Map<number, { start: bigint; end: bigint }> {
  const ranges = new Map<number, { start: bigint; end: bigint }>();
  for (const s of segments) {
    const range = ranges.get(s.partition);
    if (!range) ranges.set(s.partition, { start: s.start, end: s.end });
    else if (s.start !== range.end)
      throw new Error(`segments of partition ${s.partition} are not contiguous (${range.end} then ${s.start})`);
    else range.end = s.end;
  }
  return ranges;
}

export function countRecords(segments: Segment[]): number {
  return segments.reduce((n, s) => n + recordsOf(s), 0);
}

/** Halving search under savepoints: good rows land, each bad row becomes a dead letter. */
async function copyIsolatingBadRows(
  client: pg.PoolClient,
  rows: EventRow[],
): Promise<{ loaded: number; rejected: { partition: number; letter: DeadLetter }[] }> {
  const rejected: { partition: number; letter: DeadLetter }[] = [];
  let loaded = 0;
  const attempt = async (group: EventRow[]): Promise<void> => {
    if (group.length === 0) return;
    await client.query('SAVEPOINT copy_group');
    try {
      loaded += await copyBuffers(client, EVENTS_TARGET, [Buffer.concat(group.map((g) => g.line))]);
      await client.query('RELEASE SAVEPOINT copy_group');
      return;
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT copy_group');
      if (!isDataError(error)) throw error;
      if (group.length === 1) {
        const row = group[0]!;
        rejected.push({ partition: row.partition, letter: rejectedLetter(row.line, row.source, error as Error & { code: string }) });
        return;
      }
    }
    const middle = Math.ceil(group.length / 2);
    await attempt(group.slice(0, middle));
    await attempt(group.slice(middle));
  };
  await attempt(rows);
  return { loaded, rejected };
}

function rejectedLetter(line: Buffer, source: Buffer, error: Error & { code: string }): DeadLetter {
  const fields = line.toString('utf8').slice(0, -1).split('\t');
  const key = fields[KEY_FIELD]!;
  return {
    offset: BigInt(fields[2]!),
    key: key === COPY_NULL ? null : Buffer.from(unescapeCopyText(key), 'utf8'),
    // A copy: the segment's buffer holds every event of the fetch.
    value: Buffer.from(source),
    code: 'warehouse_rejected',
    reason: `Postgres refused the row: ${error.message}`,
    details: { sqlstate: error.code },
  };
}

function unescapeCopyText(value: string): string {
  return value.replace(/\\([\\ntr])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
}

function deadLetterLine(topic: string, partition: number, letter: DeadLetter): string {
  return copyLine([
    DEAD_LETTER_SOURCE.kafka,
    copyText(topic),
    String(partition),
    letter.offset.toString(),
    `${partition}:${letter.offset}`,
    copyBytea(letter.key),
    copyBytea(letter.value),
    letter.value === null ? COPY_NULL : String(letter.value.length),
    letter.code,
    copyText(storable(letter.reason)),
    copyNullable(JSON.stringify(letter.details, (_key, v: unknown) => (typeof v === 'string' ? storable(v) : v))),
  ]);
}

const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A reason or detail quoting the input (an unknown field's name, say) as text Postgres stores:
 * NUL spelled out, lone surrogates (JSON.stringify writes them as escapes jsonb refuses) replaced
 * by U+FFFD. The input's exact bytes are in the dead letter's payload and key.
 */
export function storable(text: string): string {
  const withoutNul = text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
  return withoutNul.replace(LONE_SURROGATES, '\uFFFD');
}
