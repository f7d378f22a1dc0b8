/**
 * The demo with the lakehouse on (LAKEHOUSE_ENABLED=true, docs/lakehouse.md): the CDC ingestor
 * also publishes to the change topic, and after the Postgres ingestors the clickstream and
 * changes jobs land both topics in Iceberg until they have committed everything; then the lake's
 * row counts are compared with Postgres raw's.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import pg from 'pg';

import { positionTopic } from '../../ingest/cdc/change-topic.ts';
import type { Config } from '../../lib/config/index.ts';
import { ShopflowError } from '../../lib/errors.ts';
import { deleteTopic, withKafkaAdmin } from '../../lib/kafka/admin.ts';
import { jobCommand, jobEnded, jobSettings, LAKE_JOB_NAMES, spawnJob } from '../../lib/lakehouse/jobs.ts';
import { installedLakehouse } from '../../lib/lakehouse/paths.ts';
import { committedThrough, jobFiles, runningJobPid } from '../../lib/lakehouse/status.ts';
import { stopProcess } from '../services/process.ts';

const run = promisify(execFile);

/** The landing jobs the demo runs, each with the topic it reads. */
const LANDING = [
  { job: 'clickstream', topic: (config: Config) => config.KAFKA_TOPIC },
  { job: 'changes', topic: (config: Config) => config.LAKE_CHANGES_TOPIC },
] as const;

async function stopGroup(pid: number): Promise<void> {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return; // gone already
  }
  await stopProcess(pid, 'SIGTERM', 30_000);
  try {
    process.kill(-pid, 'SIGKILL'); // a JVM that outlived its driver
  } catch {
    // nothing left
  }
}

/**
 * Empties the demo's lake: the jobs stop, the change topic and checkpoints go, and so do the local
 * object store's tables (the catalog goes with the warehouse database the demo recreates).
 */
export async function resetLake(config: Config): Promise<void> {
  for (const job of LAKE_JOB_NAMES) {
    const pid = runningJobPid(config, job);
    if (pid) await stopGroup(pid);
    rmSync(jobFiles(config, job).pidFile, { force: true });
    rmSync(join(installedLakehouse(config).dataDir, 'checkpoints', job), { recursive: true, force: true });
  }
  for (const topic of [config.LAKE_CHANGES_TOPIC, positionTopic(config.LAKE_CHANGES_TOPIC)])
    await deleteTopic(config.KAFKA_BROKERS, topic).catch(() => undefined);
  if (config.managed.s3) rmSync(join(config.dataDir, 's3proxy', 'blobs', config.S3_BUCKET, 'warehouse'), { recursive: true, force: true });
}

async function topicEnds(config: Config, topic: string): Promise<Record<string, number>> {
  const marks = await withKafkaAdmin(config.KAFKA_BROKERS, (admin) => admin.watermarks(topic));
  return Object.fromEntries(marks.map((m) => [String(m.partition), Number(m.high)]));
}

/** Runs both landing jobs until each has committed its topic's current end, then stops them. */
export async function landInLake(config: Config, logDir: string, timeoutMs = 1_800_000): Promise<void> {
  const paths = installedLakehouse(config);
  const started = await Promise.all(
    LANDING.map(async ({ job, topic }) => {
      // LAKE_JOB_CORES each, as the scheduler runs them: both fit on the cluster at once.
      const settings = jobSettings(config, job, {}, paths);
      const logFile = join(logDir, `demo-lake-${job}.log`);
      const out = openSync(logFile, 'a');
      const child = spawnJob(paths, job, settings, out);
      closeSync(out);
      child.on('error', () => undefined);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      return { job, child, exited, logFile, topic: topic(config), stream: join(settings.checkpointDir, 'stream') };
    }),
  );
  try {
    const deadline = Date.now() + timeoutMs;
    for (const landing of started) {
      const ends = await topicEnds(config, landing.topic);
      for (;;) {
        const got = committedThrough(landing.stream, landing.topic);
        if (Object.entries(ends).every(([p, end]) => (got[p] ?? 0) >= end)) break;
        const ended = jobEnded(landing.child);
        if (ended) throw new ShopflowError('SHOPFLOW_DEMO', `the lake's ${landing.job} job ${ended}; see ${landing.logFile}`);
        if (Date.now() > deadline)
          throw new ShopflowError(
            'SHOPFLOW_DEMO',
            `the lake's ${landing.job} job had not landed ${landing.topic} in time; see ${landing.logFile}`,
          );
        await sleep(2_000);
      }
    }
  } finally {
    for (const landing of started) if (!jobEnded(landing.child)) await stopGroup(landing.child.pid!);
    await Promise.all(started.map((s) => s.exited));
  }
}

export interface LakeCounts {
  events: { lake: number; postgres: number };
  changes: { lake: number; postgres: number };
}

/** Rows in the lake's raw tables against Postgres raw's (every typed table plus the change log's own rows). */
export async function compareCounts(config: Config): Promise<LakeCounts> {
  const paths = installedLakehouse(config);
  const { command, args, env } = jobCommand(paths, 'query', jobSettings(config, 'query', {}, paths), [
    'select count(*) as n from lake.raw.shop_events',
    'select count(*) as n from lake.raw.shop_changes',
  ]);
  const { stdout } = await run(command, args, { cwd: paths.jobsDir, env, maxBuffer: 1 << 20, timeout: 600_000 });
  const [events, changes] = stdout
    .split('--\n')
    .slice(0, 2)
    .map((block) => Number((JSON.parse(block.trim().split('\n')[0]!) as { n: number }).n));
  const client = new pg.Client({ connectionString: config.WAREHOUSE_URL, application_name: 'shopflow-demo' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      "select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = 'raw_shop'",
    );
    const count = async (table: string) => Number((await client.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n);
    const pgEvents = await count('raw.shop_events');
    const pgChanges = [await count('raw.shop_changes')];
    for (const table of tables.rows) pgChanges.push(await count(table.name));
    return {
      events: { lake: events!, postgres: pgEvents },
      changes: { lake: changes!, postgres: pgChanges.reduce((a, b) => a + b, 0) },
    };
  } finally {
    await client.end();
  }
}
