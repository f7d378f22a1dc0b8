/**
 * `npm run bench -- scheduler_report`: from 08:00 to the report in the inbox, with the real
 * steps (dbt build, both Great Expectations gates, sendDailyReport to the SMTP sink), driven by
 * the real scheduler daemon (tick, lock, ledger). The raw and ingest tables of the current
 * warehouse (WAREHOUSE_URL, e.g. after `npm run demo`) are copied into a scratch database first,
 * so the main warehouse's ledger is never touched.
 *
 * value: seconds from the 08:00 occurrence to send_report finishing (ledger times).
 * baselines: the steps' own durations summed (the work without the scheduler), and the target.
 */
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';

import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

import { loadConfig } from '../lib/config/index.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../lib/warehouse/migrate.ts';
import { CompressedClock } from '../scheduler/clock.ts';
import { realPipeline } from '../scheduler/pipeline.ts';
import type { RunResult } from '../scheduler/runner.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { printBenchResult, round } from './lib/result.ts';

const TABLES = [
  'raw.shop_changes',
  'raw.shop_events',
  'raw.dead_letters',
  'ingest.kafka_offsets',
  'ingest.cdc_positions',
  'ingest.metrics',
];
const TARGET_SECONDS = 120;

const source = loadConfig();
const logger = createLogger('bench-scheduler', source.LOG_LEVEL);
const database = `bench_sched_${randomBytes(3).toString('hex')}`;
const benchUrl = new URL(source.WAREHOUSE_URL);
benchUrl.pathname = `/${database}`;
const config = loadConfig({
  WAREHOUSE_URL: benchUrl.toString(),
  SCHEDULER_INGESTORS: 'none',
  LOG_LEVEL: source.LOG_LEVEL,
  REPORT_TO: `bench+${database}@shopflow.local`,
});

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'shopflow-bench' });
  client.on('error', (err) => logger.warn({ err }, 'bench client error'));
  await client.connect();
  return client;
}

await migrate(config);
const from = await connect(source.WAREHOUSE_URL);
const to = await connect(config.WAREHOUSE_URL);
let rows = 0;
try {
  for (const table of TABLES) {
    await pipeline(from.query(copyTo(`COPY ${table} TO STDOUT`)), to.query(copyFrom(`COPY ${table} FROM STDIN`)));
    rows += Number((await to.query(`select count(*) as n from ${table}`)).rows[0].n);
  }
  // Identity columns continue after the copied rows.
  await to.query(
    `select setval(pg_get_serial_sequence('raw.shop_changes', 'change_id'), coalesce(max(change_id), 1)) from raw.shop_changes`,
  );
  logger.info({ database, rows }, 'raw data copied');

  const today = new Date().toISOString().slice(0, 10);
  const clock = new CompressedClock(new Date(`${today}T07:59:58Z`), 1);
  let finish!: (result: RunResult) => void;
  const finished = new Promise<RunResult>((resolve) => (finish = resolve));
  const scheduler = new Scheduler({
    config,
    logger,
    operations: realPipeline(config, logger),
    jobs: ['report'],
    clock,
    tickMs: 1_000,
    onJobFinished: (_job, result) => finish(result),
  });
  await scheduler.start();
  const result = await finished;
  await scheduler.stop();

  const steps = await to.query<{ step: string; seconds: number }>(
    `select step, extract(epoch from finished_at - started_at)::float8 as seconds from ops.run_steps where run_id = $1 order by started_at`,
    [result.runId],
  );
  const timing = await to.query<{ seconds: number }>(
    `select extract(epoch from s.finished_at - r.scheduled_for)::float8 as seconds
       from ops.runs r join ops.run_steps s using (run_id) where r.run_id = $1 and s.step = (select step from ops.run_steps where run_id = $1 order by finished_at desc limit 1)`,
    [result.runId],
  );
  const stepSeconds = steps.rows.reduce((sum, s) => sum + s.seconds, 0);
  const value = timing.rows[0]?.seconds ?? NaN;
  for (const s of steps.rows) logger.info({ step: s.step, seconds: round(s.seconds, 2) }, 'step');
  // Everything after this point logs nothing on success: the JSON line must be the last one.
  printBenchResult({
    bench: 'scheduler_report',
    metric: '08:00 occurrence to report sent (ledger)',
    unit: 's',
    value: round(value, 2),
    baselines: { steps_only_s: round(stepSeconds, 2), target_s: TARGET_SECONDS },
    ratio_to_ceiling: round(value / stepSeconds, 3),
    extra: {
      status: result.status,
      raw_rows: rows,
      ...Object.fromEntries(steps.rows.map((s) => [`${s.step}_s`, round(s.seconds, 2)])),
      under_target: value < TARGET_SECONDS,
    },
  });
} finally {
  await from.end();
  await to.end();
  const admin = await connect(source.WAREHOUSE_URL);
  await admin
    .query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`)
    .catch((err: unknown) => logger.warn({ err }, 'could not drop the bench database'));
  await admin.end();
}
