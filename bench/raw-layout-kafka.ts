/**
 * `npm run bench -- raw-layout-kafka [--events N] [--rounds R] [--layouts a,b,...]`
 *
 * The candidates for raw.shop_events, measured on the same events (the ingestor's own decode of
 * the bench's sample stream) in one run: for each layout, psql \copy of the rows into a fresh
 * table (rows/s, median of R interleaved rounds), the table's size on disk per million events
 * (indexes included), and the time to read the events typed as staging does (a
 * `create table as` of the typed projection: jsonb_to_record for the JSON layouts, the columns
 * for the typed ones). Layouts:
 *   jsonb, json, text    envelope columns + the message as jsonb / json / text, primary key and
 *                        a BRIN on _loaded_at (the layout before migration 0150)
 *   typed                every contract field in a typed column (lib/events/columns.ts), same indexes
 *   typed_btrees         typed, primary key + btrees on _loaded_at and event_time (before 0080)
 *   typed_no_index       typed, no index at all (the table's own ceiling)
 *   typed_partitioned    migration 0150: day partitions of _loaded_at, a BRIN on _loaded_at,
 *                        a default partition, no primary key
 *   typed_partitioned_position  as shipped since migration 0255: the same with a (non-unique)
 *                        btree on (topic, kafka_partition, kafka_offset), what staging reads by
 *   typed_partitioned_pk the same with a primary key (topic, kafka_partition, kafka_offset,
 *                        _loaded_at): a partitioned table's unique index must hold the partition key
 * Then, on the shipped layout, whether staging should stay a deduplicated typed table or become
 * a view over raw: the table's build time and size against what a reader pays per query
 * without it (the events of 50 sessions, through the table's index or through a view that
 * deduplicates the whole log on every read).
 * --layouts measures only the named layouts (the shipped one and typed_no_index are always in).
 * Last line: the DESIGN.md JSON result; value is the shipped layout's rate, the ceiling the
 * index-free typed table.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { decodeMessage, EVENT_COLUMNS } from '../ingest/kafka/decode.ts';
import { copyText } from '../ingest/shared/copy-text.ts';
import { sampleMessage, seededRandom } from '../ingest/kafka/sample-events.ts';
import { loadConfig } from '../lib/config/index.ts';
import { EVENT_BODY_COLUMNS } from '../lib/events/columns.ts';
import { ensureDatabase } from '../lib/warehouse/migrate.ts';
import { printBenchResult, round } from './lib/result.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '300000' },
    rounds: { type: 'string', default: '3' },
    layouts: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write('usage: npm run bench -- raw-layout-kafka [--events 300000] [--rounds 3] [--layouts a,b,...]\n');
  process.exit(0);
}

const base = loadConfig();
const url = new URL(base.WAREHOUSE_URL);
url.pathname = '/shopflow_bench_raw_layout';
const DB = url.toString();
const step = (message: string) => process.stderr.write(`[raw-layout-kafka] ${message}\n`);

const ENVELOPE = `topic text not null, kafka_partition integer not null, kafka_offset bigint not null, message_key text,
  event_id text not null, event_type text not null, event_time timestamptz not null`;
const TYPED_BODY = EVENT_BODY_COLUMNS.map((c) => `${c.name} ${c.pgType}`).join(', ');
const TAIL = 'kafka_timestamp timestamptz, _loaded_at timestamptz not null default now()';
const PK = 'primary key (topic, kafka_partition, kafka_offset)';
const BRIN = (t: string) => `create index on ${t} using brin (_loaded_at) with (autosummarize = on);`;
const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

interface Layout {
  name: string;
  /** DDL for table `t`. */
  ddl: (t: string) => string;
  file: 'payload' | 'typed';
  columns: string;
  /** The staging read: a typed projection of `t`. */
  typedRead: (t: string) => string;
}

const RECORD = EVENT_BODY_COLUMNS.map((c) => `${c.name} ${c.pgType.startsWith('numeric') ? 'numeric' : c.pgType}`).join(', ');
const fromJson = (fn: string, expr: string) => (t: string) =>
  `select e.event_id, e.event_type, e.event_time, r.* from ${t} e cross join lateral ${fn}(${expr}) as r (${RECORD})`;
const fromColumns = (t: string) => `select event_id, event_type, event_time, ${EVENT_BODY_COLUMNS.map((c) => c.name).join(', ')} from ${t}`;
const PAYLOAD_COLUMNS = 'topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload, kafka_timestamp';
const TYPED_COLUMNS = EVENT_COLUMNS.join(', ');
const partitioned =
  (withPk: boolean, withPosition = false) =>
  (t: string) =>
    `create table ${t} (${ENVELOPE}, ${TYPED_BODY}, payload jsonb, ${TAIL}${withPk ? ', primary key (topic, kafka_partition, kafka_offset, _loaded_at)' : ''}) partition by range (_loaded_at);
   ${BRIN(t)}
   ${withPosition ? `create index on ${t} (topic, kafka_partition, kafka_offset);` : ''}
   create table ${t}_default partition of ${t} default;
   create table ${t}_today partition of ${t} for values from ('${today}') to ('${tomorrow}');`;

/** The layout migrations give raw.shop_events today. */
const SHIPPED = 'typed_partitioned_position';

const ALL_LAYOUTS: Layout[] = [
  ...(['jsonb', 'json', 'text'] as const).map((type) => ({
    name: type,
    ddl: (t: string) => `create table ${t} (${ENVELOPE}, payload ${type} not null, ${TAIL}, ${PK}); ${BRIN(t)}`,
    file: 'payload' as const,
    columns: PAYLOAD_COLUMNS,
    typedRead:
      type === 'jsonb'
        ? fromJson('jsonb_to_record', 'e.payload')
        : type === 'json'
          ? fromJson('json_to_record', 'e.payload')
          : fromJson('jsonb_to_record', 'e.payload::jsonb'),
  })),
  {
    name: 'typed',
    ddl: (t) => `create table ${t} (${ENVELOPE}, ${TYPED_BODY}, payload jsonb, ${TAIL}, ${PK}); ${BRIN(t)}`,
    file: 'typed',
    columns: TYPED_COLUMNS,
    typedRead: fromColumns,
  },
  {
    name: 'typed_btrees',
    ddl: (t) =>
      `create table ${t} (${ENVELOPE}, ${TYPED_BODY}, payload jsonb, ${TAIL}, ${PK});
       create index on ${t} (_loaded_at); create index on ${t} (event_time);`,
    file: 'typed',
    columns: TYPED_COLUMNS,
    typedRead: fromColumns,
  },
  {
    name: 'typed_no_index',
    ddl: (t) => `create table ${t} (${ENVELOPE}, ${TYPED_BODY}, payload jsonb, ${TAIL});`,
    file: 'typed',
    columns: TYPED_COLUMNS,
    typedRead: fromColumns,
  },
  { name: 'typed_partitioned', ddl: partitioned(false), file: 'typed', columns: TYPED_COLUMNS, typedRead: fromColumns },
  { name: 'typed_partitioned_pk', ddl: partitioned(true), file: 'typed', columns: TYPED_COLUMNS, typedRead: fromColumns },
  { name: SHIPPED, ddl: partitioned(false, true), file: 'typed', columns: TYPED_COLUMNS, typedRead: fromColumns },
];

const chosen = args.layouts?.split(',').map((name) => name.trim());
for (const name of chosen ?? []) {
  if (!ALL_LAYOUTS.some((l) => l.name === name)) throw new Error(`--layouts: no layout named ${name}`);
}
const LAYOUTS = ALL_LAYOUTS.filter((l) => !chosen || chosen.includes(l.name) || l.name === SHIPPED || l.name === 'typed_no_index');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function psqlCopy(table: string, columns: string, file: string): number {
  const started = performance.now();
  const run = spawnSync('psql', [DB, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy ${table} (${columns}) from '${file}'`], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`psql \\copy into ${table} failed: ${run.stderr}`);
  return (performance.now() - started) / 1000;
}

const FIRST_COPY = `distinct on (event_id) * from bench_layout.staged_raw
  order by event_id, _loaded_at, topic, kafka_partition, kafka_offset`;

/** Staging as a table (built once, indexed) against a view (deduplicating on every read). */
async function stagingTableOrView(client: pg.Client, typedFile: string): Promise<Record<string, number>> {
  const raw = 'bench_layout.staged_raw';
  await client.query(`drop table if exists ${raw} cascade`);
  await client.query(ALL_LAYOUTS.find((l) => l.name === SHIPPED)!.ddl(raw));
  psqlCopy(raw, TYPED_COLUMNS, typedFile);
  await client.query(`analyze ${raw}`);
  const sessions = (await client.query<{ s: string }>(`select distinct session_id as s from ${raw} limit 50`)).rows.map((r) => r.s);
  const time = async (sql: string, params: unknown[] = []) => {
    const started = performance.now();
    await client.query(sql, params);
    return performance.now() - started;
  };
  const buildMs = await time(`create table bench_layout.stg as select ${FIRST_COPY}`);
  await client.query(
    'create unique index on bench_layout.stg (event_id); create index on bench_layout.stg (session_id); analyze bench_layout.stg',
  );
  await client.query(`create view bench_layout.stg_view as select ${FIRST_COPY}`);
  const lookup = (relation: string) => `select count(*), sum(price) from ${relation} where session_id = any($1)`;
  const tableMs: number[] = [];
  const viewMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    tableMs.push(await time(lookup('bench_layout.stg'), [sessions]));
    viewMs.push(await time(lookup('bench_layout.stg_view'), [sessions]));
  }
  const size = await client.query<{ bytes: string }>(`select pg_total_relation_size('bench_layout.stg') as bytes`);
  const events = Number((await client.query<{ n: string }>(`select count(*) as n from ${raw}`)).rows[0]!.n);
  return {
    staging_table_build_s: round(buildMs / 1000, 2),
    staging_table_mb_per_million: round(((Number(size.rows[0]!.bytes) / events) * 1e6) / 2 ** 20, 1),
    staging_50_sessions_ms_table: round(median(tableMs), 1),
    staging_50_sessions_ms_view: round(median(viewMs), 1),
  };
}

async function main(): Promise<void> {
  const events = Number(args.events);
  const rounds = Number(args.rounds);
  const dir = join(base.dataDir, 'bench');
  mkdirSync(dir, { recursive: true });
  const files = { payload: join(dir, 'raw-layout-payload.copy'), typed: join(dir, 'raw-layout-typed.copy') };

  step(`decoding ${events} sample events as the ingestor does`);
  const random = seededRandom(7);
  const payloadLines: string[] = [];
  const typedLines: string[] = [];
  for (let i = 0; i < events; i++) {
    const m = sampleMessage(i, random);
    const decoded = decodeMessage('bench.layout', i % 6, {
      offset: BigInt(i),
      key: Buffer.from(m.key),
      value: Buffer.from(m.value as string),
      timestampMs: Date.now(),
    });
    if (!decoded.ok) throw new Error(`sample event ${i} was refused: ${decoded.deadLetter.reason}`);
    typedLines.push(decoded.line);
    const f = decoded.line.slice(0, -1).split('\t');
    payloadLines.push(`${[...f.slice(0, 7), copyText(m.value as string), f.at(-1)!].join('\t')}\n`);
  }
  writeFileSync(files.payload, payloadLines.join(''));
  writeFileSync(files.typed, typedLines.join(''));
  payloadLines.length = 0;
  typedLines.length = 0;

  await ensureDatabase(DB);
  const client = new pg.Client({ connectionString: DB, application_name: 'bench-raw-layout' });
  client.on('error', () => undefined);
  await client.connect();
  const rates = new Map<string, number[]>(LAYOUTS.map((l) => [l.name, []]));
  const reads = new Map<string, number[]>(LAYOUTS.map((l) => [l.name, []]));
  const sizes = new Map<string, number>();
  const staging: Record<string, number> = {};
  try {
    await client.query('drop schema if exists bench_layout cascade; create schema bench_layout');
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no layout always runs first (or after the same neighbour).
      const order = LAYOUTS.map((_, i) => LAYOUTS[(i + r) % LAYOUTS.length]!);
      for (const layout of order) {
        const table = `bench_layout.${layout.name}`;
        await client.query(`drop table if exists ${table} cascade; drop table if exists bench_layout.read_${layout.name}`);
        await client.query(layout.ddl(table));
        await client.query('checkpoint');
        const seconds = psqlCopy(table, layout.columns, files[layout.file]);
        rates.get(layout.name)!.push(events / seconds);
        const size = await client.query<{ bytes: string }>(
          // The table itself (a plain one) and every partition with its indexes (a partitioned one).
          `select sum(pg_total_relation_size(relid))::bigint as bytes
           from (select '${table}'::regclass as relid union select relid from pg_partition_tree('${table}'::regclass)) as tree`,
        );
        sizes.set(layout.name, Number(size.rows[0]!.bytes));
        const readStarted = performance.now();
        await client.query(`create table bench_layout.read_${layout.name} as ${layout.typedRead(table)}`);
        reads.get(layout.name)!.push((performance.now() - readStarted) / 1000);
        await client.query(`drop table bench_layout.read_${layout.name}; drop table ${table} cascade`);
        step(`round ${r + 1} ${layout.name}: ${Math.round(events / seconds)} rows/s`);
      }
    }
    Object.assign(staging, await stagingTableOrView(client, files.typed));
    await client.query('drop schema bench_layout cascade');
  } finally {
    await client.end();
    rmSync(files.payload, { force: true });
    rmSync(files.typed, { force: true });
  }

  const figures: Record<string, number | string | boolean> = { events, rounds, ...staging };
  const baselines: Record<string, number> = {};
  for (const layout of LAYOUTS) {
    const rate = Math.round(median(rates.get(layout.name)!));
    baselines[`copy_${layout.name}`] = rate;
    figures[`mb_per_million_${layout.name}`] = round(((sizes.get(layout.name)! / events) * 1e6) / 2 ** 20, 1);
    figures[`typed_read_s_${layout.name}`] = round(median(reads.get(layout.name)!), 2);
  }
  const shipped = baselines[`copy_${SHIPPED}`]!;
  const ceiling = baselines.copy_typed_no_index!;
  if (baselines.copy_jsonb) figures.ratio_shipped_to_jsonb = round(shipped / baselines.copy_jsonb, 2);
  if (baselines.copy_typed_partitioned) figures.ratio_shipped_to_brin_only = round(shipped / baselines.copy_typed_partitioned, 2);
  printBenchResult({
    bench: 'raw-layout-kafka',
    metric: `copy_rows_per_second_${SHIPPED}`,
    unit: 'rows/s',
    value: shipped,
    baselines,
    ratio_to_ceiling: round(shipped / ceiling),
    extra: figures,
  });
}

await main();
