/**
 * The file ingestor's landing speed: one CSV file (and the same rows as Parquet) of --rows rows
 * (order_id, customer, amount, ordered_on) landed by ingest/files' lander into raw.file_rows,
 * against the ceiling measured in the same run: `psql \copy` of the same CSV into a typed table
 * of the same warehouse. Rounds are interleaved (ceiling, CSV, Parquet) so machine load drifts
 * alike; the figure is the median rows/s of the CSV landings. The target (issue #27) is 0.7 of
 * the ceiling. Peak RSS is this process's (the lander runs in it).
 *
 * Options: --rows N (default 1000000), --rounds N (default 3).
 * Uses WAREHOUSE_URL (as the superuser for the ceiling and the clean-up, as ingest_writer to
 * land); everything it lands is deleted at the end.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

import { parquetWriteFile } from 'hyparquet-writer';
import pg from 'pg';

import { landFile } from '../ingest/files/lander.ts';
import { parseSourceConfig } from '../ingest/files/source-config.ts';
import { loadConfig, roleUrl } from '../lib/config/index.ts';
import { createPool } from '../lib/pg/pool.ts';
import { printBenchResult, round } from './lib/result.ts';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: { rows: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } },
  strict: true,
});
const ROWS = Number(args.rows);
const ROUNDS = Number(args.rounds);
const config = loadConfig();
const log = (message: string) => process.stderr.write(`bench ingest-files: ${message}\n`);

const dir = mkdtempSync(join(config.dataDir, 'bench-files-'));
const csvFile = join(dir, 'orders.csv');

async function writeCsv(): Promise<void> {
  const out = createWriteStream(csvFile);
  out.write('order_id,customer,amount,ordered_on\n');
  let chunk = '';
  for (let i = 1; i <= ROWS; i++) {
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

const source = (name: string, format: 'csv' | 'parquet') =>
  parseSourceConfig(
    {
      sources: [
        {
          name,
          folder: '.',
          format,
          table: 'orders_history',
          keys: ['order_id'],
          columns: [
            { name: 'order_id', type: 'integer' },
            { name: 'customer', type: 'text' },
            { name: 'amount', type: 'numeric' },
            { name: 'ordered_on', type: 'date' },
          ],
        },
      ],
    },
    'bench',
    dir,
  )[0]!;

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
    `delete from raw.file_rows where file_id in (select file_id from raw.file_manifest where source_name like 'bench_files_%');
     delete from raw.file_manifest where source_name like 'bench_files_%';
     drop table if exists public.bench_files_ceiling`,
  );
}

function psqlCopy(): number {
  const started = process.hrtime.bigint();
  const out = spawnSync(
    'psql',
    [
      config.WAREHOUSE_URL,
      '-X',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      `\\copy public.bench_files_ceiling from '${csvFile}' with (format csv, header)`,
    ],
    {
      encoding: 'utf8',
    },
  );
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
    const outcome = await landFile(client, source(`bench_files_${format}_${round}`, format), `orders.${format}`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (outcome.outcome !== 'landed' || outcome.rows !== ROWS) throw new Error(`${format} landed ${JSON.stringify(outcome)}`);
    return ROWS / seconds;
  } finally {
    client.release();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

try {
  await admin.connect();
  await cleanUp();
  log(`writing ${ROWS} rows as CSV and Parquet under ${dir}`);
  await writeCsv();
  writeParquet();
  const ceiling: number[] = [];
  const csv: number[] = [];
  const parquet: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    await admin.query(
      'drop table if exists public.bench_files_ceiling; create table public.bench_files_ceiling (order_id bigint, customer text, amount numeric(12, 2), ordered_on date)',
    );
    await admin.query('checkpoint');
    ceiling.push(psqlCopy());
    await admin.query('checkpoint');
    csv.push(await land('csv', r));
    await admin.query('checkpoint');
    parquet.push(await land('parquet', r));
    log(
      `round ${r}: psql \\copy ${Math.round(ceiling.at(-1)!)} rows/s, csv ${Math.round(csv.at(-1)!)} rows/s, parquet ${Math.round(parquet.at(-1)!)} rows/s`,
    );
  }
  const value = median(csv);
  printBenchResult({
    bench: 'ingest-files',
    metric: 'csv_rows_per_second',
    unit: 'rows/s',
    value: Math.round(value),
    baselines: { psql_copy_typed: Math.round(median(ceiling)), parquet_rows_per_second: Math.round(median(parquet)) },
    ratio_to_ceiling: round(value / median(ceiling)),
    extra: {
      rows: ROWS,
      rounds: ROUNDS,
      parquet_ratio_to_ceiling: round(median(parquet) / median(ceiling)),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      target_ratio: 0.7,
    },
  });
} finally {
  await cleanUp().catch(() => undefined);
  await pool.end();
  await admin.end().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
