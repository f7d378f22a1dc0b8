/**
 * `npm run bench -- generate [--scale F] [--rss-scale F] [--seed N]`
 *
 * 1. The generator alone (--dry-run) on the world: generation throughput, no I/O.
 * 2. The full run into a scratch MariaDB database and a scratch Kafka topic: rows/s to MariaDB,
 *    events/s to Kafka, wall time of the world.
 * 3. Ceiling: MariaDB's own LOAD DATA LOCAL INFILE of the same rows (the final tables, dumped
 *    to TSV) into a second scratch database.
 * 4. Peak RSS of a bigger world (--rss-scale, default 10x) generated as a separate --dry-run
 *    process (the world is streamed day by day, so memory should not grow with it).
 * Last line: the DESIGN.md JSON (value = rows/s to MariaDB in the full run).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import mysql from 'mysql2/promise';

import { parseGenerateArgs, type GenerateOptions } from '../generator/args.ts';
import { runGenerate } from '../generator/run.ts';
import { ddlStatements } from '../generator/sinks/mariadb.ts';
import type { RunSummary } from '../generator/summary.ts';
import { COLUMNS, TABLES } from '../generator/world/rows.ts';
import { loadConfig, type Config } from '../lib/config/index.ts';
import { deleteTopic } from '../lib/kafka/admin.ts';
import { createLogger } from '../lib/logger.ts';
import { printBenchResult, round, timed } from './lib/result.ts';

const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, 'rss-scale': { type: 'string', default: '10' }, seed: { type: 'string', default: '42' } } });
const base = loadConfig();
const logger = createLogger('bench-generate', 'warn');
const suffix = `${Date.now().toString(36)}`;
const scratchDb = `bench_generate_${suffix}`;
const ceilingDb = `bench_generate_load_${suffix}`;
const topic = `bench.generate.${suffix}`;
const world = ['--scale', values.scale!, '--seed', values.seed!, '--from', '2024-01-01', '--to', '2024-12-31', '--quiet'];

function dbUrl(database: string): string {
  const url = new URL(base.SHOP_DB_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function withEnv(overrides: Record<string, string>): Config {
  return loadConfig({ ...process.env, ...overrides });
}

function options(config: Config, argv: string[]): GenerateOptions {
  const parsed = parseGenerateArgs(argv, Date.now(), config.dataDir);
  if (parsed === 'help') throw new Error('unexpected --help');
  return parsed;
}

async function admin<T>(work: (c: mysql.Connection) => Promise<T>, database?: string): Promise<T> {
  const connection = await mysql.createConnection({ uri: database ? dbUrl(database) : base.SHOP_DB_URL, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  connection.on('error', (error: Error) => logger.warn({ err: error }, 'bench connection error'));
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

const tsv = (value: unknown) => (value === null ? '\\N' : String(value).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'));

/** Dumps the generated tables to TSV and LOAD DATAs them into a fresh database: the ceiling. */
async function loadDataCeiling(dir: string): Promise<{ rows: number; seconds: number }> {
  const files: { table: string; path: string; rows: number }[] = [];
  await admin(async (c) => {
    for (const table of TABLES) {
      const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT ${COLUMNS[table].map((x) => `\`${x}\``).join(', ')} FROM \`${table}\` ORDER BY 1`);
      const path = join(dir, `${table}.tsv`);
      writeFileSync(path, rows.map((r) => COLUMNS[table].map((col) => tsv(r[col])).join('\t')).join('\n') + (rows.length ? '\n' : ''));
      files.push({ table, path, rows: rows.length });
    }
  }, scratchDb);
  await admin((c) => c.query(`CREATE DATABASE \`${ceilingDb}\``));
  return admin(async (c) => {
    for (const statement of ddlStatements()) await c.query(statement);
    const { seconds } = await timed(async () => {
      await c.query('SET FOREIGN_KEY_CHECKS = 1');
      await c.beginTransaction();
      for (const f of files) {
        await c.query({
          sql: `LOAD DATA LOCAL INFILE '${f.path}' INTO TABLE \`${f.table}\` FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' (${COLUMNS[f.table as (typeof TABLES)[number]].map((x) => `\`${x}\``).join(', ')})`,
          infileStreamFactory: () => createReadStream(f.path),
        });
      }
      await c.commit();
    });
    return { rows: files.reduce((n, f) => n + f.rows, 0), seconds };
  }, ceilingDb);
}

const dir = mkdtempSync(join(tmpdir(), 'bench-generate-'));
try {
  process.stderr.write(`generator alone (--dry-run), scale ${values.scale}...\n`);
  const dry = await runGenerate(options(base, [...world, '--dry-run']), base, logger);
  process.stderr.write(`  ${dry.eventsTotal} events + ${dry.rowsTotal} rows generated in ${dry.seconds.toFixed(1)} s\n`);

  process.stderr.write('full run into a scratch MariaDB database and Kafka topic...\n');
  await admin((c) => c.query(`CREATE DATABASE \`${scratchDb}\``));
  const full: RunSummary = await runGenerate(options(base, world), withEnv({ SHOP_DB_URL: dbUrl(scratchDb), KAFKA_TOPIC: topic }), logger);
  process.stderr.write(`  ${full.rowsTotal} rows, ${full.eventsTotal} events in ${full.seconds.toFixed(1)} s\n`);

  process.stderr.write('ceiling: LOAD DATA LOCAL INFILE of the same rows...\n');
  const ceiling = await loadDataCeiling(dir);
  process.stderr.write(`  ${ceiling.rows} rows in ${ceiling.seconds.toFixed(1)} s\n`);

  process.stderr.write(`peak RSS of a ${values['rss-scale']}x world (--dry-run, separate process)...\n`);
  const big = spawnSync(process.execPath, ['--import', 'tsx', join(base.rootDir, 'generator', 'cli.ts'), '--scale', values['rss-scale']!, '--from', '2024-01-01', '--to', '2024-12-31', '--dry-run', '--json', '--quiet'], {
    cwd: base.rootDir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (big.status !== 0) throw new Error(`the ${values['rss-scale']}x dry run failed: ${big.stderr.slice(-2000)}`);
  const bigSummary = JSON.parse(big.stdout.trim().split('\n').at(-1)!) as RunSummary;
  process.stderr.write(`  ${bigSummary.rowsTotal} rows, ${bigSummary.eventsTotal} events in ${bigSummary.seconds.toFixed(1)} s, peak RSS ${bigSummary.peakRssMb.toFixed(0)} MB\n`);

  const rowsPerSecond = full.rowsTotal / full.seconds;
  const loadDataRowsPerSecond = ceiling.rows / ceiling.seconds;
  printBenchResult({
    bench: 'generate',
    metric: 'mariadb_rows_per_second',
    unit: 'rows/s',
    value: round(rowsPerSecond, 0),
    baselines: {
      load_data_rows_per_second: round(loadDataRowsPerSecond, 0),
      dry_run_rows_per_second: round(dry.rowsTotal / dry.seconds, 0),
      dry_run_events_per_second: round(dry.eventsTotal / dry.seconds, 0),
    },
    ratio_to_ceiling: round(rowsPerSecond / loadDataRowsPerSecond, 3),
    extra: {
      scale: Number(values.scale),
      world_seconds: round(full.seconds, 1),
      rows: full.rowsTotal,
      events: full.eventsTotal,
      kafka_events_per_second: round(full.eventsTotal / full.seconds, 0),
      target_events_per_second: 50_000,
      target_rows_per_second: 20_000,
      target_world_seconds: 60,
      peak_rss_mb_full_run: round(full.peakRssMb, 0),
      rss_scale: Number(values['rss-scale']),
      peak_rss_mb_rss_world: round(bigSummary.peakRssMb, 0),
      rss_world_seconds: round(bigSummary.seconds, 1),
      target_peak_rss_mb: 300,
    },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
  await admin((c) => c.query(`DROP DATABASE IF EXISTS \`${scratchDb}\``)).catch(() => undefined);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS \`${ceilingDb}\``)).catch(() => undefined);
  await deleteTopic(base.KAFKA_BROKERS, topic).catch(() => undefined);
}
