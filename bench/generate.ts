/**
 * `npm run bench -- generate [--scale F] [--rss-scale F] [--rss-dry-run] [--seed N]`
 *
 * Every generation runs through the CLI (`generator/cli.ts --json`), in its own process with
 * the heap settings users get:
 * 1. The generator alone (--dry-run): generation throughput, no I/O.
 * 2. Each sink alone on the same world: MariaDB only (the headline: rows/s MariaDB takes from
 *    the generator), then Kafka only (events/s). The targets are per sink: the default world has
 *    six events per row, so a run feeding both at once moves rows at a sixth of its event rate.
 * 3. Both sinks at once, as `npm run generate` does by default: wall time of the world.
 * 4. Ceiling: MariaDB's own LOAD DATA LOCAL INFILE of the same rows (the final tables, dumped
 *    to TSV) into a fresh database.
 * 5. Peak RSS of a bigger world (--rss-scale, default 10x), both sinks (--rss-dry-run: the
 *    generator alone, faster).
 * Last line: the DESIGN.md JSON.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import mysql from 'mysql2/promise';

import { ddlStatements } from '../generator/sinks/mariadb.ts';
import type { RunSummary } from '../generator/summary.ts';
import { columnList } from '../generator/sinks/sql.ts';
import { loadDataSql, tsvRows } from '../generator/sinks/tsv.ts';
import { TABLES, type Row, type TableName } from '../generator/world/rows.ts';
import { loadConfig } from '../lib/config/index.ts';
import { deleteTopic } from '../lib/kafka/admin.ts';
import { createLogger } from '../lib/logger.ts';
import { printBenchResult, round, timed } from './lib/result.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    'rss-scale': { type: 'string', default: '10' },
    'rss-dry-run': { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
  },
});
const base = loadConfig();
const logger = createLogger('bench-generate', 'warn');
const suffix = `${Date.now().toString(36)}`;
const scratchDb = `bench_generate_${suffix}`;
const ceilingDb = `bench_generate_load_${suffix}`;
const bigDb = `bench_generate_big_${suffix}`;
const aloneDb = `bench_generate_alone_${suffix}`;
const aloneTopic = `bench.generate.alone.${suffix}`;
const topic = `bench.generate.${suffix}`;
const bigTopic = `bench.generate.big.${suffix}`;
const world = ['--scale', values.scale!, '--seed', values.seed!, '--from', '2024-01-01', '--to', '2024-12-31'];

function dbUrl(database: string): string {
  const url = new URL(base.SHOP_DB_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(work: (c: mysql.Connection) => Promise<T>, database?: string): Promise<T> {
  const connection = await mysql.createConnection({
    uri: database ? dbUrl(database) : base.SHOP_DB_URL,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  connection.on('error', (error: Error) => logger.warn({ err: error }, 'bench connection error'));
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

/** Dumps the generated tables to TSV and LOAD DATAs them into a fresh database: the ceiling. */
async function loadDataCeiling(dir: string): Promise<{ rows: number; seconds: number }> {
  const files: { table: TableName; path: string; rows: number }[] = [];
  await admin(async (c) => {
    for (const table of TABLES) {
      const [rows] = await c.query<mysql.RowDataPacket[]>({
        sql: `SELECT ${columnList(table)} FROM \`${table}\` ORDER BY 1`,
        rowsAsArray: true,
      });
      const path = join(dir, `${table}.tsv`);
      writeFileSync(path, tsvRows(rows as unknown as Row[]));
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
        await c.query({ sql: loadDataSql(f.table, f.table, f.path), infileStreamFactory: () => createReadStream(f.path) });
      }
      await c.commit();
    });
    return { rows: files.reduce((n, f) => n + f.rows, 0), seconds };
  }, ceilingDb);
}

/** One generation through the CLI in its own process; its --json summary. */
function generate(label: string, argv: string[], env: Record<string, string> = {}): RunSummary {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(base.rootDir, 'generator', 'cli.ts'), ...argv, '--json', '--quiet'], {
    cwd: base.rootDir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  if (run.status !== 0) throw new Error(`${label} failed (exit ${run.status}):\n${run.stderr.slice(-2000)}${run.stdout.slice(-3000)}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as RunSummary;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-generate-'));
try {
  process.stderr.write(`generator alone (--dry-run), scale ${values.scale}...\n`);
  const dry = generate('the dry run', [...world, '--dry-run']);
  process.stderr.write(`  ${dry.eventsTotal} events + ${dry.rowsTotal} rows generated in ${dry.seconds.toFixed(1)} s\n`);

  process.stderr.write('MariaDB alone (--sinks mariadb)...\n');
  await admin((c) => c.query(`CREATE DATABASE \`${aloneDb}\``));
  const mariadbAlone = generate('the MariaDB-only run', [...world, '--sinks', 'mariadb'], { SHOP_DB_URL: dbUrl(aloneDb) });
  process.stderr.write(`  ${mariadbAlone.rowsTotal} rows in ${mariadbAlone.seconds.toFixed(1)} s\n`);

  process.stderr.write('Kafka alone (--sinks kafka)...\n');
  const kafkaAlone = generate('the Kafka-only run', [...world, '--sinks', 'kafka'], { KAFKA_TOPIC: aloneTopic });
  process.stderr.write(`  ${kafkaAlone.eventsTotal} events in ${kafkaAlone.seconds.toFixed(1)} s\n`);

  process.stderr.write('both sinks, as `npm run generate` runs...\n');
  await admin((c) => c.query(`CREATE DATABASE \`${scratchDb}\``));
  const full = generate('the run into both sinks', world, { SHOP_DB_URL: dbUrl(scratchDb), KAFKA_TOPIC: topic });
  process.stderr.write(`  ${full.rowsTotal} rows, ${full.eventsTotal} events in ${full.seconds.toFixed(1)} s\n`);

  process.stderr.write('ceiling: LOAD DATA LOCAL INFILE of the same rows...\n');
  const ceiling = await loadDataCeiling(dir);
  process.stderr.write(`  ${ceiling.rows} rows in ${ceiling.seconds.toFixed(1)} s\n`);

  const rssDry = values['rss-dry-run']!;
  process.stderr.write(`peak RSS of a ${values['rss-scale']}x world${rssDry ? ' (--dry-run)' : ', both sinks'}...\n`);
  if (!rssDry) await admin((c) => c.query(`CREATE DATABASE \`${bigDb}\``));
  const big = generate(
    `the ${values['rss-scale']}x run`,
    [
      '--scale',
      values['rss-scale']!,
      '--seed',
      values.seed!,
      '--from',
      '2024-01-01',
      '--to',
      '2024-12-31',
      ...(rssDry ? ['--dry-run'] : []),
    ],
    {
      SHOP_DB_URL: dbUrl(bigDb),
      KAFKA_TOPIC: bigTopic,
    },
  );
  process.stderr.write(
    `  ${big.rowsTotal} rows, ${big.eventsTotal} events in ${big.seconds.toFixed(1)} s, peak RSS ${big.peakRssMb.toFixed(0)} MB\n`,
  );

  const rowsPerSecond = mariadbAlone.rowsTotal / mariadbAlone.seconds;
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
      rows: full.rowsTotal,
      events: full.eventsTotal,
      mariadb_alone_seconds: round(mariadbAlone.seconds, 1),
      kafka_events_per_second: round(kafkaAlone.eventsTotal / kafkaAlone.seconds, 0),
      kafka_alone_seconds: round(kafkaAlone.seconds, 1),
      world_seconds: round(full.seconds, 1),
      both_sinks_events_per_second: round(full.eventsTotal / full.seconds, 0),
      both_sinks_rows_per_second: round(full.rowsTotal / full.seconds, 0),
      target_events_per_second: 50_000,
      target_rows_per_second: 20_000,
      target_world_seconds: 60,
      peak_rss_mb_both_sinks: round(full.peakRssMb, 0),
      rss_scale: Number(values['rss-scale']),
      peak_rss_mb_rss_world: round(big.peakRssMb, 0),
      rss_world_seconds: round(big.seconds, 1),
      rss_world_dry_run: rssDry,
      ...(rssDry
        ? {}
        : {
            rss_world_kafka_events_per_second: round(big.eventsTotal / big.seconds, 0),
            rss_world_mariadb_rows_per_second: round(big.rowsTotal / big.seconds, 0),
          }),
      target_peak_rss_mb: 300,
    },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
  await admin((c) => c.query(`DROP DATABASE IF EXISTS \`${scratchDb}\``)).catch(() => undefined);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS \`${ceilingDb}\``)).catch(() => undefined);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS \`${bigDb}\``)).catch(() => undefined);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS \`${aloneDb}\``)).catch(() => undefined);
  await deleteTopic(base.KAFKA_BROKERS, aloneTopic).catch(() => undefined);
  await deleteTopic(base.KAFKA_BROKERS, topic).catch(() => undefined);
  await deleteTopic(base.KAFKA_BROKERS, bigTopic).catch(() => undefined);
}
