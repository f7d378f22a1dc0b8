/**
 * `npm run bench -- lake-landing [--events N] [--rounds R] [--rate R] [--steady-seconds S] [--runs ...] [--pin-workers]`
 *
 * The clickstream into the lake against the Postgres path, on the same pre-produced events:
 *   (a) Kafka read ceiling: a consumer on the TypeScript ingestor's client that discards what it reads;
 *   (b) the TypeScript Kafka ingestor into Postgres, in a process of its own (bench ingest-kafka's child);
 *   (c) the Spark clickstream job into Iceberg with 1 executor core (one worker);
 *   (d) the same with 2 (both workers): the 2-to-1 ratio shows whether the work spreads;
 * (a) to (d) R times, interleaved (the order rotates each round), reported as medians; each
 * Spark run lands into empty tables from a fresh checkpoint, timed from its first micro-batch
 * being planned to its last commit (JVM and session start-up left out, reported apart). Then
 * freshness at a steady produce rate: Kafka timestamp to the Iceberg commit that made the event
 * visible, p50/p99, with 2 workers. Peak memory: RSS sampled from /proc every 250 ms, per process
 * (the job's Python driver, its driver JVM, each executor JVM, the Python workers), the largest.
 * `--pin-workers` keeps each local Spark worker, with the executors it launches, on one CPU of
 * its own while the Spark runs, as a worker on a machine of its own would be. Needs LAKEHOUSE_ENABLED=true and the services up. Last line: the DESIGN.md JSON result.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { KAFKA_INGESTOR_NODE_FLAGS } from '../ingest/kafka/node-flags.ts';
import { sampleMessage, seededRandom } from '../ingest/kafka/sample-events.ts';
import { loadConfig, type Config } from '../lib/config/index.ts';
import { deleteTopic, ensureTopic, withKafkaAdmin } from '../lib/kafka/admin.ts';
import { createKafkajsSource } from '../lib/kafka/kafkajs-source.ts';
import { createEventProducer, type EventProducer, type OutgoingMessage } from '../lib/kafka/producer.ts';
import { jobCommand, jobEnded, jobSettings } from '../lib/lakehouse/jobs.ts';
import { installedLakehouse } from '../lib/lakehouse/paths.ts';
import type { LakeSettings } from '../lib/lakehouse/settings.ts';
import { committedThrough } from '../lib/lakehouse/status.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../lib/warehouse/migrate.ts';
import { readLakeProfile, readStageProfile, type LakeProfile, type PhaseStages } from './lib/lake-profile.ts';
import { printBenchResult, round } from './lib/result.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '1' },
    rate: { type: 'string', default: '5000' },
    'steady-seconds': { type: 'string', default: '60' },
    /** Which landing runs, comma-separated (profiling one alone); `--steady-seconds 0` skips freshness. */
    runs: { type: 'string', default: 'ceiling,ts,spark1,spark2' },
    /** Each local worker keeps to one CPU of its own while the Spark runs (see pinWorkers). */
    'pin-workers': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout.write(
    'usage: npm run bench -- lake-landing [--events 200000] [--rounds 1] [--rate 5000] [--steady-seconds 60] [--runs ceiling,ts,spark1,spark2,sql1] [--pin-workers]\n',
  );
  process.exit(0);
}

const logger = createLogger('bench-lake-landing', process.env.LOG_LEVEL ?? 'warn');
const base = loadConfig();
const step = (message: string) => process.stderr.write(`[lake-landing] ${message}\n`);
/** bench ingest-kafka's database: its child ingestor lands there. */
const INGEST_DATABASE = 'shopflow_bench_ingest_kafka';
const LAKE_DATABASE = 'shopflow_bench_lake';

function databaseUrl(database: string): string {
  const url = new URL(base.WAREHOUSE_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function sql(database: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl(database) });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function produce(config: Config, topic: string, count: number, seed: number, first = 0, shared?: EventProducer): Promise<void> {
  const producer = shared ?? (await createEventProducer({ brokers: config.KAFKA_BROKERS, clientId: 'bench-producer' }, logger));
  const random = seededRandom(seed);
  const inflight: Promise<void>[] = [];
  for (let i = first; i < first + count; i += 2_000) {
    const messages: OutgoingMessage[] = [];
    for (let j = i; j < Math.min(first + count, i + 2_000); j++) messages.push(sampleMessage(j, random));
    inflight.push(producer.send(topic, messages));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  if (!shared) await producer.disconnect();
}

async function endOffsets(config: Config, topic: string): Promise<Record<string, number>> {
  const offsets = await withKafkaAdmin(config.KAFKA_BROKERS, (admin) => admin.watermarks(topic));
  return Object.fromEntries(offsets.map((o) => [String(o.partition), Number(o.high)]));
}

/** (a) read ceiling. */
async function readCeiling(config: Config, topic: string, total: number): Promise<number> {
  const source = createKafkajsSource(
    {
      brokers: config.KAFKA_BROKERS,
      clientId: 'bench',
      groupId: `bench-lake-read-${Date.now()}`,
      topic,
      sessionTimeoutMs: 10_000,
      partitionsConsumedConcurrently: Math.min(config.KAFKA_PARTITIONS, 8),
    },
    logger,
  );
  let seen = 0;
  let first = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await source.start({
    onAssigned: () => undefined,
    onFatal: (error) => {
      throw error;
    },
    onBatch: async (batch, control) => {
      if (first === 0) first = performance.now();
      const last = batch.messages.at(-1);
      if (!last) return;
      seen += batch.messages.length;
      control.markHeld(last.offset);
      if (seen >= total) done();
    },
  });
  await finished;
  const seconds = (performance.now() - first) / 1000;
  await source.stop();
  return total / seconds;
}

/** (b) the TypeScript ingestor in bench ingest-kafka's child mode: its rate and peak RSS. */
async function tsIngestor(config: Config, topic: string): Promise<{ rate: number; maxRssMb: number }> {
  await sql(INGEST_DATABASE, 'truncate raw.shop_events, raw.dead_letters, ingest.kafka_offsets, ingest.metrics');
  const child = spawn(
    process.execPath,
    [
      ...KAFKA_INGESTOR_NODE_FLAGS,
      '--import',
      'tsx',
      join(import.meta.dirname, 'ingest-kafka.ts'),
      '--child-ingest',
      `bench-lake-ts-${Date.now()}`,
    ],
    {
      env: { ...process.env, KAFKA_TOPIC: topic, KAFKA_PARTITIONS: String(config.KAFKA_PARTITIONS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`ingestor child exited ${code}: ${out.slice(-2000)}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as { seconds: number; events: number; maxRssMb: number };
  return { rate: result.events / result.seconds, maxRssMb: result.maxRssMb };
}

interface ProcessPeak {
  kind: string;
  mb: number;
  /** CPU seconds (user + system) all processes of this kind used, from /proc/<pid>/stat. */
  cpuSeconds: number;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/**
 * Peak RSS and CPU time of this checkout's Spark processes (driver, executors, Python workers),
 * sampled from /proc. CPU time is what a loaded machine does not distort: wall time there
 * depends on what else runs, CPU seconds per event do not (much).
 */
function sampleSparkMemory(root: string): { stop(): ProcessPeak[] } {
  const peaks = new Map<string, { kind: string; mb: number; ticks: number }>();
  // Processes alive before the run (the previous run's executors still exiting, the SQL
  // endpoint's) are not this run's: their CPU counts from their own start.
  const before = new Set(readdirSync('/proc').filter((e) => /^\d+$/.test(e)));
  const cmdlineOf = (pid: string) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  const parentOf = (pid: string) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!;
  };
  // Python workers name no checkout: theirs is the executor JVM they were forked for (daemon, then worker).
  const forkedByOurExecutor = (pid: string): boolean => {
    for (let p = parentOf(pid), depth = 0; depth < 3 && p !== '0' && p !== '1'; p = parentOf(p), depth++) {
      const line = cmdlineOf(p);
      if (line.includes('CoarseGrainedExecutorBackend')) return line.includes(root) && !before.has(p);
    }
    return false;
  };
  const kindOf = (pid: string, cmdline: string): string | null => {
    if (cmdline.includes('pyspark.daemon') || cmdline.includes('pyspark/daemon') || cmdline.includes('pyspark.worker'))
      return forkedByOurExecutor(pid) ? 'python worker' : null;
    if (!cmdline.includes(root)) return null;
    if (cmdline.includes('CoarseGrainedExecutorBackend')) return 'executor JVM';
    if (cmdline.includes('shopflow_lake.clickstream')) return 'driver (python)';
    if (cmdline.includes('SparkSubmit') && cmdline.includes('pyspark-shell') && cmdline.includes(root)) return 'driver JVM';
    return null;
  };
  const timer = setInterval(() => {
    for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e) && !before.has(e))) {
      try {
        const kind = kindOf(pid, cmdlineOf(pid));
        if (!kind) continue;
        const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        const mb = rss ? Number(rss[1]) / 1024 : 0;
        // utime and stime: fields 14 and 15, counted after the command name's closing parenthesis.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ticks = Number(fields[11]) + Number(fields[12]);
        const key = `${kind}:${pid}`;
        const seen = peaks.get(key);
        peaks.set(key, { kind, mb: Math.max(mb, seen?.mb ?? 0), ticks: Math.max(ticks, seen?.ticks ?? 0) });
      } catch {
        // the process ended between listing and reading
      }
    }
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      const byKind = new Map<string, ProcessPeak>();
      for (const peak of peaks.values()) {
        const kind = byKind.get(peak.kind) ?? { kind: peak.kind, mb: 0, cpuSeconds: 0 };
        kind.mb = Math.max(kind.mb, peak.mb);
        kind.cpuSeconds += peak.ticks / CLOCK_TICKS;
        byKind.set(peak.kind, kind);
      }
      return [...byKind.values()];
    },
  };
}

/**
 * --pin-workers: each local worker daemon keeps to one CPU of its own (taskset on all its
 * threads; the executors it launches and their Python workers inherit it), as a worker on a
 * machine of its own would. Unpinned on a 2-core machine, one executor's pipeline (its JVM
 * reading Kafka and writing Parquet, the Python workers deciding) keeps more than one core
 * busy (1.4 in the 1M-event run), so a second executor has little left to add and the 2-to-1
 * ratio measures the machine more than whether the work spreads. The driver stays unpinned. Returns what undoes it.
 */
function pinWorkers(config: Config): () => void {
  if (!config.managed.spark) throw new Error("--pin-workers pins the local cluster's workers; SPARK_MASTER names another cluster");
  const cpus = availableParallelism();
  const taskset = (cpuList: string, pid: string) => {
    const result = spawnSync('taskset', ['-a', '-cp', cpuList, pid], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`taskset -a -cp ${cpuList} ${pid}: ${result.stderr || result.error?.message}`);
  };
  const workers = Array.from({ length: config.SPARK_WORKERS }, (_, i) => ({
    pid: readFileSync(join(config.dataDir, 'spark', `worker-${i + 1}.pid`), 'utf8').trim(),
    cpu: String(i % cpus),
  }));
  for (const { pid, cpu } of workers) taskset(cpu, pid);
  step(`workers pinned: ${workers.map(({ pid, cpu }) => `worker ${pid} on CPU ${cpu}`).join(', ')}`);
  return () => {
    for (const { pid } of workers) taskset(`0-${cpus - 1}`, pid);
  };
}

/** Empties the lake's catalog and table files: every Spark run starts from empty tables. */
async function resetLake(config: Config, prefix: string): Promise<void> {
  // Iceberg creates its catalog tables on first use.
  for (const table of ['iceberg_tables', 'iceberg_namespace_properties'])
    await sql(
      LAKE_DATABASE,
      `do $$ begin if to_regclass('lake_catalog.${table}') is not null then delete from lake_catalog.${table}; end if; end $$`,
    );
  if (config.managed.s3) rmSync(join(config.dataDir, 's3proxy', 'blobs', config.S3_BUCKET, prefix), { recursive: true, force: true });
}

/** (c)/(d) the clickstream job with `cores` executor cores until it has committed every offset. */
async function sparkRun(
  config: Config,
  topic: string,
  cores: number,
  label: string,
  until?: () => Promise<boolean>,
  contractEngine: 'sql' | 'udf' = 'udf',
): Promise<{
  rate: number;
  startupSeconds: number;
  events: number;
  memory: ProcessPeak[];
  settings: LakeSettings;
  profile: LakeProfile;
  stages: Record<string, PhaseStages>;
}> {
  const paths = installedLakehouse(config);
  const prefix = `bench/lake-landing`;
  await resetLake(config, prefix);
  const checkpointDir = join(config.dataDir, 'bench', 'lake-landing', label);
  rmSync(checkpointDir, { recursive: true, force: true });
  // Spark's event log of the run: its stages and tasks per foreachBatch phase.
  const eventLogDir = join(config.dataDir, 'logs', 'spark-events', `bench-lake-landing-${label}`);
  rmSync(eventLogDir, { recursive: true, force: true });
  mkdirSync(eventLogDir, { recursive: true });
  const settings = jobSettings({ ...config, KAFKA_TOPIC: topic }, 'clickstream', {
    checkpointDir,
    catalogDatabase: LAKE_DATABASE,
    warehousePrefix: prefix,
    maxCores: cores,
    adjust: (s) => ({ ...s, eventLogDir, contractEngine }),
  });
  const ends = await endOffsets(config, topic);
  const total = Object.values(ends).reduce((a, b) => a + b, 0);
  const memory = sampleSparkMemory(config.rootDir);
  const { command, args: argv, env } = jobCommand(paths, 'clickstream', settings);
  const started = performance.now();
  // The job's log, kept for its per-batch profile lines (bench/lib/lake-profile.ts).
  const logDir = join(config.dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `bench-lake-landing-${label}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(command, argv, { cwd: paths.jobsDir, env, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = once(child, 'exit');
  const stream = join(checkpointDir, 'stream');
  let planned = 0;
  try {
    for (;;) {
      const ended = jobEnded(child);
      if (ended) throw new Error(`the clickstream job ${ended}; see ${logFile}`);
      if (planned === 0 && readdirSafe(join(stream, 'offsets')).length > 0) planned = performance.now();
      const got = committedThrough(stream, topic);
      const caughtUp = Object.entries(ends).every(([p, end]) => (got[p] ?? 0) >= end);
      if (until ? await until() : caughtUp) break;
      await sleep(200);
    }
  } finally {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // gone
    }
    await exited;
  }
  const finished = performance.now();
  return {
    rate: total / ((finished - planned) / 1000),
    startupSeconds: (planned - started) / 1000,
    events: total,
    memory: memory.stop(),
    settings,
    profile: readLakeProfile(logFile),
    stages: readStageProfile(eventLogDir),
  };
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => /^\d+$/.test(f));
  } catch {
    return [];
  }
}

/** Rows of SQL statements read through the lake's query task (local mode, like the tests). */
async function queryLake(config: Config, settings: LakeSettings, statement: string): Promise<Record<string, unknown>[]> {
  const paths = installedLakehouse(config);
  const {
    command,
    args: argv,
    env,
  } = jobCommand(paths, 'query', { ...settings, master: 'local[1]', appName: 'bench-reader' }, [statement]);
  const child = spawn(command, argv, { cwd: paths.jobsDir, env, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`lake query exited ${code}`);
  return out
    .split('\n')
    .filter((l) => l.trim() !== '' && l !== '--')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function describeProfile(p: LakeProfile): string {
  const seconds = (ms: Record<string, number>) =>
    Object.entries(ms)
      .map(([k, v]) => `${k} ${round(v / 1000, 1)}`)
      .join(', ');
  return (
    `${p.batches} micro-batches, ${p.rows} rows; in foreachBatch (s): ${seconds(p.phasesMs)}; ` +
    `streaming progress (s): ${seconds(p.progressMs)}; ${p.commits.count} Iceberg commits, ${round(p.commits.totalMs / 1000, 1)} s` +
    (p.commits.retries > 0 ? `, ${p.commits.retries} retried` : '')
  );
}

/** Per-phase seconds of the 2-worker runs (all rounds), for the result line. */
function profileExtra(profiles: LakeProfile[]): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const p of profiles) {
    for (const [k, v] of Object.entries(p.phasesMs))
      extra[`spark2_batch_${k}_s`] = round((extra[`spark2_batch_${k}_s`] ?? 0) + v / 1000, 1);
    extra.spark2_micro_batches = (extra.spark2_micro_batches ?? 0) + p.batches;
    extra.spark2_iceberg_commit_s = round((extra.spark2_iceberg_commit_s ?? 0) + p.commits.totalMs / 1000, 1);
  }
  return extra;
}

async function main(): Promise<void> {
  const events = Number(args.events);
  const rounds = Number(args.rounds);
  const rate = Number(args.rate);
  const steadySeconds = Number(args['steady-seconds']);
  const config: Config = { ...base, LAKEHOUSE_ENABLED: true };
  const topic = `bench.lake-landing.${Date.now().toString(36)}`;
  step('migrating the bench databases');
  await migrate({ ...config, WAREHOUSE_URL: databaseUrl(INGEST_DATABASE) });
  await migrate({ ...config, WAREHOUSE_URL: databaseUrl(LAKE_DATABASE) });
  await ensureTopic(config.KAFKA_BROKERS, topic, config.KAFKA_PARTITIONS);
  const steadyTopic = `${topic}.steady`;
  const unpin = args['pin-workers'] ? pinWorkers(config) : undefined;
  try {
    step(`producing ${events} events to ${topic} (${config.KAFKA_PARTITIONS} partitions)`);
    await produce(config, topic, events, 1);
    const total = Object.values(await endOffsets(config, topic)).reduce((a, b) => a + b, 0);
    const ceilings: number[] = [];
    const ts: number[] = [];
    const tsRss: number[] = [];
    const spark: Record<1 | 2, number[]> = { 1: [], 2: [] };
    const startup: number[] = [];
    const memory = new Map<string, number>();
    // sql1: spark1 deciding with the contract as Spark SQL expressions instead of its Python UDF.
    type Run = 'ceiling' | 'ts' | 'spark1' | 'spark2' | 'sql1';
    const runs = args.runs.split(',').filter((r): r is Run => ['ceiling', 'ts', 'spark1', 'spark2', 'sql1'].includes(r));
    const sqlRates: number[] = [];
    const sqlCpuPerKEvents: number[] = [];
    const profiles: Record<1 | 2, LakeProfile[]> = { 1: [], 2: [] };
    const cpuPerKEvents: Record<1 | 2, number[]> = { 1: [], 2: [] };
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < runs.length; i++) {
        const run = runs[(i + r) % runs.length]!;
        step(`round ${r + 1}: ${run}`);
        if (run === 'ceiling') {
          const result = await readCeiling(config, topic, total);
          ceilings.push(result);
          step(`  ${round(result, 0)} events/s`);
        } else if (run === 'ts') {
          const result = await tsIngestor(config, topic);
          ts.push(result.rate);
          tsRss.push(result.maxRssMb);
          step(`  ${round(result.rate, 0)} events/s`);
        } else {
          const cores = run === 'spark2' ? 2 : 1;
          const result = await sparkRun(config, topic, cores, `${run}-${r}`, undefined, run === 'sql1' ? 'sql' : 'udf');
          if (run === 'sql1') sqlRates.push(result.rate);
          else spark[cores].push(result.rate);
          startup.push(result.startupSeconds);
          for (const peak of result.memory) memory.set(peak.kind, Math.max(memory.get(peak.kind) ?? 0, peak.mb));
          if (run !== 'sql1') profiles[cores].push(result.profile);
          step(`  ${round(result.rate, 0)} events/s (start-up ${round(result.startupSeconds, 1)} s)`);
          step(`  ${describeProfile(result.profile)}`);
          const cpu = result.memory.reduce((sum, p) => sum + p.cpuSeconds, 0);
          if (run === 'sql1') sqlCpuPerKEvents.push((cpu / result.events) * 1000);
          else cpuPerKEvents[cores].push((cpu / result.events) * 1000);
          step(
            `  CPU ${round(cpu, 1)} s (${round((cpu / result.events) * 1e6, 0)} us/event): ` +
              result.memory.map((p) => `${p.kind} ${round(p.cpuSeconds, 1)} s`).join(', '),
          );
          for (const [phase, p] of Object.entries(result.stages))
            step(
              `  ${phase}: ${p.stages} stages ${round(p.stageMs / 1000, 1)} s, ${p.tasks} tasks: run ${round(p.taskRunMs / 1000, 1)} s, ` +
                `cpu ${round(p.taskCpuMs / 1000, 1)} s, gc ${round(p.gcMs / 1000, 1)} s, deserialize ${round(p.deserializeMs / 1000, 1)} s, shuffle write ${round(p.shuffleWriteMs / 1000, 1)} s`,
            );
        }
      }
    }

    /** Freshness at a steady produce rate, 2 workers (skipped with --steady-seconds 0). */
    const freshness = async (): Promise<{ p50: number; p99: number; n: number; triggerSeconds: number }> => {
      step(`freshness: ${rate} events/s for ${steadySeconds} s, 2 workers`);
      await ensureTopic(config.KAFKA_BROKERS, steadyTopic, config.KAFKA_PARTITIONS);
      // A few warm-up events: the job's start-up and first micro-batch happen before the steady load.
      await produce(config, steadyTopic, 100, 5, 10_000_000);
      const steadyStream = join(config.dataDir, 'bench', 'lake-landing', 'steady', 'stream');
      let producing: Promise<void> | undefined;
      let steadyEnds: Record<string, number> | undefined;
      let steadyStartMs = 0;
      const steady = await sparkRun(config, steadyTopic, 2, 'steady', async () => {
        if (!producing && readdirSafe(join(steadyStream, 'commits')).length > 0) {
          producing = (async () => {
            const producer = await createEventProducer({ brokers: config.KAFKA_BROKERS, clientId: 'bench-steady' }, logger);
            steadyStartMs = Date.now();
            const startedAt = performance.now();
            for (let second = 0; second < steadySeconds; second++) {
              const batches = 10;
              for (let b = 0; b < batches; b++) {
                await produce(config, steadyTopic, rate / batches, 7 + second, second * rate + b * (rate / batches), producer);
                const due = startedAt + (second + (b + 1) / batches) * 1000;
                await sleep(Math.max(0, due - performance.now()));
              }
            }
            await producer.disconnect();
            steadyEnds = await endOffsets(config, steadyTopic);
          })();
        }
        // Until every steady event is committed: a job that falls behind shows it in the p99.
        if (!steadyEnds) return false;
        const got = committedThrough(steadyStream, steadyTopic);
        return Object.entries(steadyEnds).every(([p, end]) => (got[p] ?? 0) >= end);
      });
      await producing;
      const [row] = await queryLake(
        config,
        steady.settings,
        `select percentile(d, 0.5) as p50, percentile(d, 0.99) as p99, count(*) as n from (
           select min(unix_millis(s.committed_at)) - unix_millis(e.kafka_timestamp) as d
             from lake.raw.shop_events e join lake.raw.shop_events.snapshots s on s.committed_at >= e._loaded_at
            where e.kafka_timestamp >= timestamp_millis(${steadyStartMs})
            group by e.kafka_partition, e.kafka_offset, e.kafka_timestamp)`,
      );
      return {
        p50: Number(row?.p50 ?? NaN),
        p99: Number(row?.p99 ?? NaN),
        n: Number(row?.n ?? 0),
        triggerSeconds: steady.settings.triggerSeconds,
      };
    };
    const fresh = steadySeconds > 0 ? await freshness() : undefined;

    const ceiling = median(ceilings);
    const ts50 = median(ts);
    const one = median(spark[1]);
    const two = median(spark[2]);
    printBenchResult({
      bench: 'lake-landing',
      metric: 'spark clickstream landing into Iceberg, 2 workers',
      unit: 'events/s',
      value: round(two, 0),
      baselines: {
        kafka_read_ceiling: round(ceiling, 0),
        ts_ingestor_postgres: round(ts50, 0),
        spark_1_worker: round(one, 0),
        spark_1_worker_sql_contract: round(median(sqlRates), 0),
      },
      ratio_to_ceiling: round(two / ceiling),
      extra: {
        events: total,
        rounds,
        ratio_2_to_1_workers: round(two / one),
        spark_rates_1_worker: spark[1].map((r) => round(r, 0)).join(','),
        spark_rates_2_workers: spark[2].map((r) => round(r, 0)).join(','),
        sql_rates_1_worker: sqlRates.map((r) => round(r, 0)).join(','),
        ratio_sql_to_udf_contract_1_worker: round(median(sqlRates) / one),
        sql1_cpu_s_per_1k_events: round(median(sqlCpuPerKEvents), 2),
        ts_rates: ts.map((r) => round(r, 0)).join(','),
        ceiling_rates: ceilings.map((r) => round(r, 0)).join(','),
        kafka_partitions: config.KAFKA_PARTITIONS,
        workers_pinned: args['pin-workers'],
        ratio_spark2_to_ts_ingestor: round(two / ts50),
        spark_startup_s_median: round(median(startup), 1),
        freshness_rate_eps: rate,
        freshness_seconds: steadySeconds,
        freshness_events_produced: rate * steadySeconds,
        freshness_events: fresh?.n ?? 0,
        freshness_p50_ms: fresh?.p50 ?? NaN,
        freshness_p99_ms: fresh?.p99 ?? NaN,
        trigger_seconds: fresh?.triggerSeconds ?? base.LAKE_TRIGGER_SECONDS,
        ...profileExtra(profiles[2]),
        spark1_cpu_s_per_1k_events: round(median(cpuPerKEvents[1]), 2),
        spark2_cpu_s_per_1k_events: round(median(cpuPerKEvents[2]), 2),
        peak_rss_mb_ts_ingestor: round(Math.max(...tsRss), 0),
        ...Object.fromEntries([...memory].map(([kind, mb]) => [`peak_rss_mb_${kind.replace(/[^a-z]+/gi, '_')}`, round(mb, 0)])),
      },
    });
  } finally {
    unpin?.();
    await deleteTopic(config.KAFKA_BROKERS, topic).catch(() => undefined);
    await deleteTopic(config.KAFKA_BROKERS, steadyTopic).catch(() => undefined);
    await resetLake(config, 'bench/lake-landing').catch(() => undefined);
    rmSync(join(config.dataDir, 'bench', 'lake-landing'), { recursive: true, force: true });
    // The bench leaves no database behind (the lake's catalog and the ingestor's raw tables).
    for (const database of [INGEST_DATABASE, LAKE_DATABASE])
      await sql('postgres', `drop database if exists ${database} with (force)`).catch(() => undefined);
  }
}

await main();
