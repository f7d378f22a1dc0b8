/**
 * The file ingestor's landing speed: one CSV file (and the same rows as Parquet) of --rows rows
 * (order_id, customer, amount, ordered_on) landed by ingest/files' lander into its typed table
 * raw_files.<source>, against ceilings measured in the same run, `psql \copy` into the same
 * warehouse:
 * - psql_copy_typed: the lander's own COPY text for these rows (written once, untimed) into a
 *   fresh table made by the same function as the lander's (ingest.files_ensure_typed_table:
 *   file_id, line_number, the four typed columns, its primary key and BRIN index): the same rows
 *   into the same kind of typed table, the ceiling of issue #27's target (0.7 of it);
 * - psql_copy_csv_plain: the CSV itself into a bare typed table (order_id bigint, customer text,
 *   amount numeric(12, 2), ordered_on date; no key, no index), the ceiling earlier rounds used:
 *   what COPY does with nothing to check.
 * Rounds are interleaved (typed, bare CSV, lander CSV, lander Parquet) so machine load drifts alike; figures are
 * medians. Then, with --big-rows N (default 4000000; 0 skips it), a CSV of N rows is landed by
 * `npm run ingest:files` as a child process whose V8 heap is capped at --heap-mb (default 64),
 * far below the file's size, so it cannot be buffered: big_peak_rss_mb is that process's peak
 * RSS (GNU time), the figure for issue #27's 300 MB bound. The in-process peak_rss_mb includes
 * building the Parquet file in memory (hyparquet-writer builds it whole).
 *
 * Options: --rows N (default 1000000), --rounds N (default 3), --big-rows N, --heap-mb N.
 * Uses WAREHOUSE_URL (as the superuser for the ceilings and the clean-up, as ingest_writer to
 * land); everything it lands is deleted at the end.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

import { parquetWriteFile } from 'hyparquet-writer';
import pg from 'pg';

import { csvRecords, RowsToCopy } from '../ingest/files/csv-rows.ts';
import { landFile } from '../ingest/files/lander.ts';
import { PG_TYPE_OF } from '../ingest/files/pg-types.ts';
import { parseSourceConfig } from '../ingest/files/source-config.ts';
import { loadConfig, roleUrl } from '../lib/config/index.ts';
import { createPool } from '../lib/pg/pool.ts';
import { printBenchResult, round } from './lib/result.ts';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rows: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    'big-rows': { type: 'string', default: '4000000' },
    'heap-mb': { type: 'string', default: '64' },
  },
  strict: true,
});
const ROWS = Number(args.rows);
const ROUNDS = Number(args.rounds);
const BIG_ROWS = Number(args['big-rows']);
const HEAP_MB = Number(args['heap-mb']);
const config = loadConfig();
const log = (message: string) => process.stderr.write(`bench ingest-files: ${message}\n`);

const dir = mkdtempSync(join(config.dataDir, 'bench-files-'));
const csvFile = join(dir, 'orders.csv');
const copyFile = join(dir, 'orders.copy');
const bigDir = join(dir, 'big');

async function writeCsv(path = csvFile, rows = ROWS): Promise<void> {
  const out = createWriteStream(path);
  out.write('order_id,customer,amount,ordered_on\n');
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    chunk += `${i},customer ${i % 5000},${i % 100000}.${String(i % 100).padStart(2, '0')},2026-01-${String((i % 28) + 1).padStart(2, '0')}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

function writeParquet(): void {
  const ids = new Array<bigint>(ROWS);
  const customers = new Array<string>(ROWS);
  const amounts = new Array<number>(ROWS);
  const dates = new Array<Date>(ROWS);
  for (let i = 1; i <= ROWS; i++) {
    ids[i - 1] = BigInt(i);
    customers[i - 1] = `customer ${i % 5000}`;
    amounts[i - 1] = Number(`${i % 100000}.${String(i % 100).padStart(2, '0')}`);
    dates[i - 1] = new Date(Date.UTC(2026, 0, (i % 28) + 1));
  }
  parquetWriteFile({
    filename: join(dir, 'orders.parquet'),
    columnData: [
      { name: 'order_id', data: ids },
      { name: 'customer', data: customers },
      { name: 'amount', data: amounts },
      { name: 'ordered_on', data: dates },
    ],
    schema: [
      { name: 'root', num_children: 4 },
      { name: 'order_id', type: 'INT64', repetition_type: 'REQUIRED' },
      { name: 'customer', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'amount', type: 'INT64', converted_type: 'DECIMAL', scale: 2, precision: 12, repetition_type: 'REQUIRED' },
      { name: 'ordered_on', type: 'INT32', converted_type: 'DATE', repetition_type: 'REQUIRED' },
    ],
    rowGroupSize: 100_000,
  });
}

const COLUMNS = [
  { name: 'order_id', type: 'integer' },
  { name: 'customer', type: 'text' },
  { name: 'amount', type: 'numeric' },
  { name: 'ordered_on', type: 'date' },
] as const;

const sourceDocument = (name: string, format: 'csv' | 'parquet') => ({
  name,
  folder: '.',
  format,
  table: 'orders_history',
  keys: ['order_id'],
  columns: COLUMNS,
});

const sourceOf = (name: string, format: 'csv' | 'parquet') =>
  parseSourceConfig({ sources: [sourceDocument(name, format)] }, 'bench', dir)[0]!;

const admin = new pg.Client({ connectionString: config.WAREHOUSE_URL, application_name: 'shopflow-bench-files' });
admin.on('error', () => undefined);
const pool = createPool({
  connectionString: roleUrl(config, 'ingest_writer'),
  applicationName: 'shopflow-bench-files',
  max: 1,
  statementTimeoutMs: 0,
});

async function cleanUp(): Promise<void> {
  await admin.query(
    `delete from raw.file_manifest where source_name like 'bench_files_%';
     drop table if exists public.bench_files_ceiling;
     do $$
     declare t text;
     begin
       for t in select tablename from pg_tables where schemaname = 'raw_files' and tablename like 'bench_files_%' loop
         execute format('drop table raw_files.%I', t);
       end loop;
     end $$`,
  );
}

/** The lander's COPY text for the CSV, as it streams it into raw_files.<source> (untimed). */
async function writeCopyText(): Promise<void> {
  const source = sourceOf('bench_files_copy_text', 'csv');
  const rows = new RowsToCopy(source, 1n, 'orders.csv', (bad) => {
    throw new Error(`bench row ${bad.line} is bad: ${bad.reason}`);
  });
  await pipeline(createReadStream(csvFile), csvRecords(source), rows, createWriteStream(copyFile));
}

function psqlCopy(command: string): number {
  const started = process.hrtime.bigint();
  const out = spawnSync('psql', [config.WAREHOUSE_URL, '-X', '-v', 'ON_ERROR_STOP=1', '-c', command], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (out.status !== 0) throw new Error(`psql \\copy failed: ${out.stderr}`);
  const rows = Number(/COPY (\d+)/.exec(out.stdout)?.[1] ?? 0);
  if (rows !== ROWS) throw new Error(`psql \\copy loaded ${rows} rows, expected ${ROWS}`);
  return ROWS / seconds;
}

async function land(format: 'csv' | 'parquet', round: number): Promise<number> {
  const client = await pool.connect();
  try {
    const started = process.hrtime.bigint();
    const outcome = await landFile(client, sourceOf(`bench_files_${format}_${round}`, format), `orders.${format}`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (outcome.outcome !== 'landed' || outcome.rows !== ROWS) throw new Error(`${format} landed ${JSON.stringify(outcome)}`);
    return ROWS / seconds;
  } finally {
    client.release();
  }
}

/**
 * Lands a CSV of BIG_ROWS rows with `npm run ingest:files`'s entry in a child process whose V8
 * heap is capped at HEAP_MB; returns its peak RSS in MB (GNU time's %M) and its rows/s.
 */
async function landBigCapped(): Promise<{ rssMb: number; fileMb: number; rowsPerSecond: number }> {
  mkdirSync(bigDir, { recursive: true });
  const big = join(bigDir, 'big.csv');
  await writeCsv(big, BIG_ROWS);
  const configFile = join(dir, 'big-sources.json');
  const document = {
    sources: [{ ...sourceDocument('bench_files_big', 'csv'), folder: bigDir }],
  };
  writeFileSync(configFile, JSON.stringify(document));
  const started = process.hrtime.bigint();
  const out = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      'peak_rss_kb=%M',
      process.execPath,
      `--max-old-space-size=${HEAP_MB}`,
      '--import',
      'tsx',
      'ingest/files/cli.ts',
      '--config',
      configFile,
    ],
    { encoding: 'utf8', cwd: join(import.meta.dirname, '..'), maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (out.status !== 0) throw new Error(`ingest:files on the big file exited ${out.status}: ${out.stderr.slice(-2000)}`);
  const kb = Number(/peak_rss_kb=(\d+)/.exec(out.stderr)?.[1]);
  const landed = await admin.query<{ rows: string }>(
    `select rows_landed::text as rows from raw.file_manifest where source_name = 'bench_files_big'`,
  );
  if (Number(landed.rows[0]?.rows) !== BIG_ROWS) throw new Error(`the big file landed ${landed.rows[0]?.rows} rows, expected ${BIG_ROWS}`);
  const fileMb = statSync(big).size / 1024 / 1024;
  rmSync(bigDir, { recursive: true, force: true });
  return { rssMb: kb / 1024, fileMb, rowsPerSecond: BIG_ROWS / seconds };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  await admin.connect();
  await cleanUp();
  log(`writing ${ROWS} rows as CSV, Parquet and the lander's COPY text under ${dir}`);
  await writeCsv();
  writeParquet();
  await writeCopyText();
  const typed: number[] = [];
  const plain: number[] = [];
  const csv: number[] = [];
  const parquet: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    await admin.query(
      `drop table if exists public.bench_files_ceiling;
       create table public.bench_files_ceiling (order_id bigint, customer text, amount numeric(12, 2), ordered_on date)`,
    );
    // The lander's kind of table, made the lander's way (a fresh one per round, as each round's
    // landings create theirs).
    const ceiling = `bench_files_ceiling_${r}`;
    await admin.query(`select ingest.files_ensure_typed_table($1, $2::text[], $3::text[])`, [
      ceiling,
      COLUMNS.map((c) => c.name),
      COLUMNS.map((c) => PG_TYPE_OF[c.type]),
    ]);
    await admin.query('checkpoint');
    typed.push(psqlCopy(`\\copy raw_files.${ceiling} (file_id, line_number, ${COLUMNS.map((c) => c.name).join(', ')}) from '${copyFile}'`));
    await admin.query('checkpoint');
    plain.push(psqlCopy(`\\copy public.bench_files_ceiling from '${csvFile}' with (format csv, header)`));
    await admin.query('checkpoint');
    csv.push(await land('csv', r));
    await admin.query('checkpoint');
    parquet.push(await land('parquet', r));
    log(
      `round ${r}: psql \\copy typed ${Math.round(typed.at(-1)!)} rows/s, csv into a bare table ${Math.round(plain.at(-1)!)} rows/s; ` +
        `lander csv ${Math.round(csv.at(-1)!)} rows/s, parquet ${Math.round(parquet.at(-1)!)} rows/s`,
    );
  }
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  let big: Awaited<ReturnType<typeof landBigCapped>> | null = null;
  if (BIG_ROWS > 0) {
    log(`landing ${BIG_ROWS} rows with ingest:files, V8 heap capped at ${HEAP_MB} MB`);
    big = await landBigCapped();
    log(`big file: ${Math.round(big.fileMb)} MB landed at ${Math.round(big.rowsPerSecond)} rows/s, peak RSS ${Math.round(big.rssMb)} MB`);
  }
  const value = median(csv);
  printBenchResult({
    bench: 'ingest-files',
    metric: 'csv_rows_per_second',
    unit: 'rows/s',
    value: Math.round(value),
    baselines: {
      psql_copy_typed: Math.round(median(typed)),
      psql_copy_csv_plain: Math.round(median(plain)),
      parquet_rows_per_second: Math.round(median(parquet)),
    },
    ratio_to_ceiling: round(value / median(typed)),
    extra: {
      rows: ROWS,
      rounds: ROUNDS,
      parquet_ratio_to_ceiling: round(median(parquet) / median(typed)),
      csv_ratio_to_plain_copy: round(value / median(plain)),
      parquet_ratio_to_plain_copy: round(median(parquet) / median(plain)),
      typed_copy_ratio_to_plain: round(median(typed) / median(plain)),
      peak_rss_mb: peakRssMb,
      ...(big
        ? {
            big_rows: BIG_ROWS,
            big_file_mb: Math.round(big.fileMb),
            big_heap_cap_mb: HEAP_MB,
            big_peak_rss_mb: Math.round(big.rssMb),
            big_rows_per_second: Math.round(big.rowsPerSecond),
          }
        : {}),
      target_ratio: 0.7,
    },
  });
} finally {
  await cleanUp().catch(() => undefined);
  await pool.end();
  await admin.end().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
