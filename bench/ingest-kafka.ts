/**
 * `npm run bench -- ingest-kafka [--events N] [--rounds R] [--naive N] [--rate R] [--steady-seconds S] [--no-connect] [--cpu-prof DIR] [--baseline-checkout DIR]`
 *
 * One run over the same pre-produced events measures:
 *   (a) read ceiling: a consumer on the same client that discards what it reads;
 *   (b) write ceiling: psql \copy of the same rows (as the ingestor formats them, typed) from a file;
 *   (c) naive: one INSERT per message, on a subset;
 *   (d) this ingestor, in a child process (so its peak RSS is its own);
 *   (e) Kafka Connect 3.9.1 standalone with Debezium's JDBC sink 3.0.7 (bench/lib/kafka-connect.ts),
 *       reading the same events as JSON with embedded schemas from a topic of its own;
 *   (f) optionally, the ingestor of another checkout of this repository (--baseline-checkout, e.g. a
 *       `git worktree` of main), in a child process the same way: a change measured against what
 *       it replaces in the same run;
 * (b), (d), (e) and (f) R times, interleaved (the order rotates each round), reported as medians;
 * then freshness (producer timestamp to commit) p50/p99 at a steady produce rate, the ingestor
 * again in a process of its own.
 * Last line: the DESIGN.md JSON result.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { decodeMessage, EVENT_COLUMNS } from '../ingest/kafka/decode.ts';
import { KafkaIngestor, type KafkaIngestorOptions } from '../ingest/kafka/ingestor.ts';
import { KAFKA_INGESTOR_NODE_FLAGS } from '../ingest/kafka/node-flags.ts';
import { sampleMessage, seededRandom } from '../ingest/kafka/sample-events.ts';
import { loadConfig, roleUrl, type Config } from '../lib/config/index.ts';
import { deleteTopic, ensureTopic, withKafkaAdmin } from '../lib/kafka/admin.ts';
import { createKafkajsSource } from '../lib/kafka/kafkajs-source.ts';
import { createEventProducer, type OutgoingMessage } from '../lib/kafka/producer.ts';
import type { RecordSource } from '../lib/kafka/source.ts';
import { createLogger } from '../lib/logger.ts';
import { migrate } from '../lib/warehouse/migrate.ts';
import { CONNECT_TABLE, createConnectTable, ensureConnectJars, runConnect, withEmbeddedSchema } from './lib/kafka-connect.ts';
import { printBenchResult, round } from './lib/result.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    'no-connect': { type: 'boolean', default: false },
    naive: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '5000' },
    'steady-seconds': { type: 'string', default: '20' },
    'cpu-prof': { type: 'string' },
    'baseline-checkout': { type: 'string' },
    'child-ingest': { type: 'string' },
    'child-steady': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  process.stdout
    .write(`usage: npm run bench -- ingest-kafka [--events 1000000] [--rounds 3] [--naive 20000] [--rate 5000] [--steady-seconds 20] [--no-connect] [--cpu-prof DIR]
--rounds R runs (b), (d) and (e) R times each, interleaved, and reports medians.
--no-connect leaves out the Kafka Connect baseline (e) (it needs Java and, once, Maven Central).
--cpu-prof DIR writes a V8 CPU profile of the ingestor's run (d) into DIR (open in Chrome DevTools).
--baseline-checkout DIR also runs (f), the ingestor of the checkout at DIR (with its node_modules), interleaved with (d).\n`);
  process.exit(0);
}

const logger = createLogger('bench-ingest-kafka', process.env.LOG_LEVEL ?? 'warn');
const base = loadConfig();
const DATABASE = 'shopflow_bench_ingest_kafka';

function benchConfig(topic: string, groupId: string): Config {
  const url = new URL(base.WAREHOUSE_URL);
  url.pathname = `/${DATABASE}`;
  return { ...base, WAREHOUSE_URL: url.toString(), KAFKA_TOPIC: topic, KAFKA_GROUP_ID: groupId };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Wraps a source to note when the first batch arrives, so group-join time is not counted. */
function timedSource(source: RecordSource, marks: { first?: number }): RecordSource {
  return {
    start: (handlers) =>
      source.start({
        ...handlers,
        onBatch: (batch, control) => {
          marks.first ??= performance.now();
          return handlers.onBatch(batch, control);
        },
      }),
    seek: (p) => source.seek(p),
    commitAdvisory: (p) => source.commitAdvisory(p),
    watermarks: (t) => source.watermarks(t),
    nonDataRun: (t, p) => source.nonDataRun?.(t, p),
    stop: () => source.stop(),
  };
}

function kafkajsSource(config: Config, groupId: string): RecordSource {
  return createKafkajsSource(
    {
      brokers: config.KAFKA_BROKERS,
      clientId: 'bench',
      groupId,
      topic: config.KAFKA_TOPIC,
      sessionTimeoutMs: 10_000,
      partitionsConsumedConcurrently: Math.min(config.KAFKA_PARTITIONS, 8),
    },
    logger,
  );
}

/** The ingestor as a child run configures it: the bench topic (KAFKA_TOPIC) and shipped batch sizes. */
function benchIngestor(
  groupId: string,
  options: Pick<KafkaIngestorOptions, 'stopWhen' | 'onCommitted'> & { timed?: { first?: number } },
): KafkaIngestor {
  const config = benchConfig(base.KAFKA_TOPIC, groupId);
  return new KafkaIngestor({
    config,
    logger,
    groupId,
    topic: config.KAFKA_TOPIC,
    batchRows: config.INGEST_BATCH_ROWS,
    batchMaxMs: config.INGEST_BATCH_MAX_MS,
    stopWhen: options.stopWhen,
    ...(options.timed ? { source: timedSource(kafkajsSource(config, groupId), options.timed) } : {}),
    ...(options.onCommitted ? { onCommitted: options.onCommitted } : {}),
  });
}

/** Garbage collection in this process, from V8's gc performance entries: pauses by kind, count and milliseconds. */
function watchGc(): () => { minorCount: number; minorMs: number; majorCount: number; majorMs: number } {
  const totals = { minorCount: 0, minorMs: 0, majorCount: 0, majorMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        totals.minorCount += 1;
        totals.minorMs += entry.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR || kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) {
        totals.majorCount += 1;
        totals.majorMs += entry.duration;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    return totals;
  };
}

/** (d) in its own process: prints {"seconds":..,"events":..,"maxRssMb":..,"gc":..} as its last line. */
async function childIngest(groupId: string): Promise<void> {
  const marks: { first?: number } = {};
  let lastCommit = 0;
  const gc = watchGc();
  const summary = await benchIngestor(groupId, {
    stopWhen: { mode: 'caught-up' },
    timed: marks,
    onCommitted: () => (lastCommit = performance.now()),
  }).run();
  const seconds = (lastCommit - (marks.first ?? lastCommit)) / 1000;
  process.stdout.write(
    `${JSON.stringify({ seconds, events: summary.events + summary.deadLetters, maxRssMb: process.resourceUsage().maxRSS / 1024, gc: gc() })}\n`,
  );
}

async function produce(
  config: Config,
  count: number,
  seed: number,
  topic = config.KAFKA_TOPIC,
  shape: (m: OutgoingMessage) => OutgoingMessage = (m) => m,
): Promise<{ seconds: number; lines: string[] | undefined }> {
  const producer = await createEventProducer({ brokers: config.KAFKA_BROKERS, clientId: 'bench-producer' }, logger);
  const random = seededRandom(seed);
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < count; i += 2_000) {
    const messages: OutgoingMessage[] = [];
    for (let j = i; j < Math.min(count, i + 2_000); j++) messages.push(shape(sampleMessage(j, random)));
    inflight.push(producer.send(topic, messages));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
  return { seconds: (performance.now() - started) / 1000, lines: undefined };
}

/** Records in the bench topic: the sum of its partitions' high watermarks (it starts empty). */
async function topicRecords(config: Config, topic = config.KAFKA_TOPIC): Promise<number> {
  const offsets = await withKafkaAdmin(config.KAFKA_BROKERS, (admin) => admin.watermarks(topic));
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

/** (a) read ceiling: same client, same batch sizes, records discarded. */
async function readCeiling(config: Config, total: number): Promise<number> {
  const source = kafkajsSource(config, `bench-read-${Date.now()}`);
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

/** The rows exactly as the ingestor would COPY them, written to a file for psql. */
async function writeCopyFile(config: Config, file: string, total: number): Promise<number> {
  const source = kafkajsSource(config, `bench-file-${Date.now()}`);
  const out = createWriteStream(file);
  out.on('error', (error) => logger.error({ err: error }, 'copy file write failed'));
  let seen = 0;
  let rows = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await source.start({
    onAssigned: () => undefined,
    onFatal: (error) => {
      throw error;
    },
    onBatch: async (batch, control) => {
      const parts: string[] = [];
      for (const m of batch.messages) {
        const d = decodeMessage(batch.topic, batch.partition, m);
        if (d.ok) parts.push(d.line);
      }
      rows += parts.length;
      seen += batch.messages.length;
      if (!out.write(parts.join(''))) await once(out, 'drain');
      const last = batch.messages.at(-1);
      if (last) control.markHeld(last.offset);
      if (seen >= total) done();
    },
  });
  await finished;
  await source.stop();
  out.end();
  await once(out, 'finish');
  return rows;
}

/** Runs `work` on a connection of its own to the bench warehouse as its owner. */
async function withAdminClient<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function truncate(adminUrl: string): Promise<void> {
  await withAdminClient(adminUrl, async (client) => {
    await client.query('truncate raw.shop_events, raw.dead_letters, ingest.kafka_offsets, ingest.metrics');
    await client.query(`drop table if exists public.${CONNECT_TABLE}`);
    await client.query('checkpoint');
  });
}

/** (c) one INSERT per message, the way a first attempt would do it. */
async function naive(config: Config, limit: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: roleUrl(config, 'ingest_writer'), max: 1, application_name: 'bench-naive' });
  pool.on('error', () => undefined);
  const source = kafkajsSource(config, `bench-naive-${Date.now()}`);
  let inserted = 0;
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
      for (const m of batch.messages) {
        if (inserted >= limit) break;
        const event = JSON.parse(m.value!.toString('utf8')) as Record<string, unknown>;
        const values = EVENT_COLUMNS.map((column) => {
          if (column === 'topic') return batch.topic;
          if (column === 'kafka_partition') return batch.partition;
          if (column === 'kafka_offset') return m.offset.toString();
          if (column === 'message_key') return m.key?.toString('utf8') ?? null;
          if (column === 'kafka_timestamp') return new Date(m.timestampMs);
          return event[column] ?? null;
        });
        await pool.query(
          `insert into raw.shop_events (${EVENT_COLUMNS.join(', ')}) values (${EVENT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
          values,
        );
        inserted++;
        control.markHeld(m.offset);
        // A fetched batch holds thousands of messages, more than a session timeout of single
        // INSERTs: without heartbeats the group drops the member, and the rejoin hands the
        // same offsets back (duplicate keys, retries), which would slow this baseline unfairly.
        if (inserted % 200 === 0) await control.heartbeat();
      }
      if (inserted >= limit) done();
    },
  });
  await finished;
  const seconds = (performance.now() - first) / 1000;
  await source.stop();
  await pool.end();
  return inserted / seconds;
}

/**
 * Starts this file (or the same file of another checkout, `benchFile`) as an ingestor child
 * (`--child-ingest` or `--child-steady`) on `topic`.
 */
function startChild(
  mode: 'ingest' | 'steady',
  topic: string,
  partitions: number,
  profile: string[] = [],
  benchFile = import.meta.filename,
  nodeFlags: readonly string[] = KAFKA_INGESTOR_NODE_FLAGS,
) {
  // With the flags every launcher of the ingestor passes, so the peak RSS is the shipped one.
  const child = spawn(
    process.execPath,
    [...nodeFlags, ...profile, '--import', 'tsx', benchFile, `--child-${mode}`, `bench-${mode}-${Date.now()}`],
    {
      env: { ...process.env, KAFKA_TOPIC: topic, KAFKA_PARTITIONS: String(partitions) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  child.on('error', (error) => logger.error({ err: error }, 'child failed to start'));
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  /** The child's last stdout line, parsed, once it has exited 0. */
  const result = async <T>(): Promise<T> => {
    const [code] = await exited;
    if (code !== 0) throw new Error(`${mode} child exited ${code}: ${out.slice(-2000)}`);
    return JSON.parse(out.trim().split('\n').at(-1)!) as T;
  };
  return { child, exited, result };
}

interface GcFigures {
  minorCount: number;
  minorMs: number;
  majorCount: number;
  majorMs: number;
}

/** The node flags a checkout ships its ingestor with (ingest/kafka/node-flags.ts), so (f) runs as that checkout would. */
async function checkoutNodeFlags(checkout: string): Promise<readonly string[]> {
  const module = (await import(pathToFileURL(join(checkout, 'ingest', 'kafka', 'node-flags.ts')).href)) as {
    KAFKA_INGESTOR_NODE_FLAGS: readonly string[];
  };
  return module.KAFKA_INGESTOR_NODE_FLAGS;
}

/** (d) the ingestor in a child process, or (f) another checkout's; returns its rate, peak RSS and collector pauses. */
async function ingestInChild(
  config: Config,
  total: number,
  checkout?: string,
): Promise<{ rate: number; maxRssMb: number; gc: GcFigures | undefined }> {
  const profile = args['cpu-prof'] && !checkout ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : [];
  const benchFile = checkout ? join(checkout, 'bench', 'ingest-kafka.ts') : undefined;
  const flags = checkout ? await checkoutNodeFlags(checkout) : KAFKA_INGESTOR_NODE_FLAGS;
  const run = startChild('ingest', config.KAFKA_TOPIC, config.KAFKA_PARTITIONS, profile, benchFile, flags);
  // A checkout from before the gc figures reports none.
  const result = await run.result<{ seconds: number; events: number; maxRssMb: number; gc?: GcFigures }>();
  if (result.events !== total) throw new Error(`ingestor loaded ${result.events} of ${total}`);
  return { rate: total / result.seconds, maxRssMb: result.maxRssMb, gc: result.gc };
}

/** One line about a run's collector pauses: scavenges and full collections, count and time. */
function gcText(gc: GcFigures | undefined): string {
  if (!gc) return 'gc not reported';
  return `gc: ${gc.minorCount} scavenges ${Math.round(gc.minorMs)} ms, ${gc.majorCount} mark-sweeps ${Math.round(gc.majorMs)} ms`;
}

interface Freshness {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

/** The freshness run's ingestor, in its own process: on SIGTERM it drains and prints its Freshness. */
async function childSteady(groupId: string): Promise<void> {
  const latencies: number[] = [];
  let commits = 0;
  const ingestor = benchIngestor(groupId, {
    stopWhen: { mode: 'never' },
    onCommitted: ({ committedAt, timestampsMs }) => {
      // The first commit is the warm-up record alone, which waited for the group to form.
      if (commits++ === 0) return;
      for (const list of timestampsMs) for (const t of list) latencies.push(committedAt - t);
    },
  });
  process.once('SIGTERM', () => void ingestor.stop());
  await ingestor.run();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const result: Freshness = { p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? NaN, count: latencies.length };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * Waits until `count` events have landed in the bench warehouse (truncated before each step);
 * fails if the child exits first or `timeoutMs` passes.
 */
async function awaitLanded(adminUrl: string, count: number, timeoutMs: number, child: { exitCode: number | null }): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  await withAdminClient(adminUrl, async (client) => {
    const landed = async () => Number((await client.query<{ n: string }>('select count(*) as n from raw.shop_events')).rows[0]!.n);
    while ((await landed()) < count) {
      if (child.exitCode !== null) throw new Error(`the freshness ingestor exited ${child.exitCode} early`);
      if (performance.now() > deadline) throw new Error(`fewer than ${count} events landed within ${timeoutMs} ms`);
      await sleep(100);
    }
  });
}

/**
 * Freshness at a steady rate: producer timestamp to commit, per record. The ingestor runs in its
 * own process, as deployed: a producer on its event loop would delay it by its own work.
 */
async function freshness(config: Config, adminUrl: string, rate: number, seconds: number): Promise<Freshness & { producedRate: number }> {
  const topic = `${config.KAFKA_TOPIC}.steady`;
  await ensureTopic(config.KAFKA_BROKERS, topic, config.KAFKA_PARTITIONS);
  const run = startChild('steady', topic, config.KAFKA_PARTITIONS);
  try {
    const producer = await createEventProducer({ brokers: config.KAFKA_BROKERS, clientId: 'bench-steady' }, logger);
    const random = seededRandom(99);
    // One warm-up record: the clock starts once the child has joined the group and committed.
    await producer.send(topic, [sampleMessage(0, random)]);
    await awaitLanded(adminUrl, 1, 60_000, run.child);
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    const started = performance.now();
    let sent = 0;
    // Sends overlap (a few in flight) so a slow acknowledgement does not lower the offered rate.
    const inflight = new Set<Promise<void>>();
    for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
      const messages: OutgoingMessage[] = [];
      for (let i = 0; i < perTick; i++) messages.push({ ...sampleMessage(sent + 1 + i, random), timestampMs: Date.now() });
      const sending: Promise<void> = producer.send(topic, messages).finally(() => inflight.delete(sending));
      inflight.add(sending);
      if (inflight.size >= 8) await Promise.race(inflight);
      sent += perTick;
      const wait = started + (tick + 1) * tickMs - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(inflight);
    await producer.disconnect();
    await awaitLanded(adminUrl, sent + 1, 30_000, run.child);
    run.child.kill('SIGTERM');
    const result = await run.result<Freshness>();
    if (result.count !== sent) throw new Error(`freshness counted ${result.count} of ${sent} events`);
    return { ...result, producedRate: Math.round(sent / seconds) };
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
    await deleteTopic(config.KAFKA_BROKERS, topic).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const events = Number(args.events);
  const naiveCount = Math.min(Number(args.naive), events);
  const topic = `bench.ingest-kafka.${Date.now().toString(36)}`;
  const config = benchConfig(topic, 'bench');
  const adminUrl = config.WAREHOUSE_URL;
  const dataDir = join(base.dataDir, 'bench');
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'ingest-kafka.copy');
  const step = (message: string) => process.stderr.write(`[ingest-kafka] ${message}\n`);

  await migrate(config);
  await truncate(adminUrl);
  await ensureTopic(config.KAFKA_BROKERS, topic, config.KAFKA_PARTITIONS);
  try {
    step(`producing ${events} events to ${topic} (${config.KAFKA_PARTITIONS} partitions)`);
    const produced = await produce(config, events, 1);
    step(`produced in ${round(produced.seconds, 1)} s`);
    // The producer is not idempotent (its retries can write a send twice); measure what the topic holds.
    const total = await topicRecords(config);
    if (total !== events)
      step(`the topic holds ${total} records (producer retries wrote ${total - events} twice); every step reads all of them`);

    step('(a) read ceiling: consume and discard');
    const readRate = await readCeiling(config, total);
    step(`(a) ${Math.round(readRate)} events/s`);

    step('(b) write ceiling: the same rows as COPY text, for psql \\copy');
    const rows = await writeCopyFile(config, file, total);

    step(`(c) naive: one INSERT per message, ${naiveCount} messages`);
    const naiveRate = await naive(config, naiveCount);
    step(`(c) ${Math.round(naiveRate)} events/s`);
    await truncate(adminUrl);

    const withConnect = !args['no-connect'];
    const connectTopic = `${topic}.connect`;
    const connectDir = join(dataDir, 'kafka-connect');
    if (withConnect) {
      step('(e) Kafka Connect + Debezium JDBC sink: jars from Maven Central (once), its topic with embedded schemas');
      ensureConnectJars(connectDir);
      await ensureTopic(config.KAFKA_BROKERS, connectTopic, config.KAFKA_PARTITIONS);
      await produce(config, events, 1, connectTopic, withEmbeddedSchema);
    }
    const connectTotal = withConnect ? await topicRecords(config, connectTopic) : 0;

    const copyRates: number[] = [];
    const ingestRates: number[] = [];
    const ingestRss: number[] = [];
    const ingestGc: GcFigures[] = [];
    const connectRates: number[] = [];
    const connectRss: number[] = [];
    const baselineRates: number[] = [];
    const baselineRss: number[] = [];
    const baselineCheckout = args['baseline-checkout'];
    const runs: Record<string, () => Promise<void>> = {
      b: async () => {
        const copyStarted = performance.now();
        const psql = spawnSync(
          'psql',
          [
            roleUrl(config, 'ingest_writer'),
            '-v',
            'ON_ERROR_STOP=1',
            '-q',
            '-c',
            `\\copy raw.shop_events (${EVENT_COLUMNS.join(', ')}) from '${file}'`,
          ],
          { encoding: 'utf8' },
        );
        if (psql.status !== 0) throw new Error(`psql \\copy failed: ${psql.stderr}`);
        copyRates.push(rows / ((performance.now() - copyStarted) / 1000));
        step(`(b) ${Math.round(copyRates.at(-1)!)} rows/s`);
      },
      d: async () => {
        const ingest = await ingestInChild(config, total);
        ingestRates.push(ingest.rate);
        ingestRss.push(ingest.maxRssMb);
        if (ingest.gc) ingestGc.push(ingest.gc);
        step(`(d) ${Math.round(ingest.rate)} events/s, peak RSS ${round(ingest.maxRssMb, 1)} MB, ${gcText(ingest.gc)}`);
      },
      e: async () => {
        const warehouse = new URL(adminUrl);
        await withAdminClient(adminUrl, (client) => createConnectTable(client));
        const connect = await runConnect({
          dir: connectDir,
          brokers: config.KAFKA_BROKERS,
          topic: connectTopic,
          // reWriteBatchedInserts: pgjdbc sends a batch as multi-row INSERTs, what a team tuning the
          // sink for Postgres would set; stringtype=unspecified lets event_time's string bind to timestamptz.
          jdbcUrl: `jdbc:postgresql://${warehouse.host}${warehouse.pathname}?stringtype=unspecified&reWriteBatchedInserts=true`,
          user: decodeURIComponent(warehouse.username),
          password: decodeURIComponent(warehouse.password),
          adminUrl,
          total: connectTotal,
          timeoutMs: 30 * 60_000,
        });
        connectRates.push(connect.rate);
        connectRss.push(connect.maxRssMb);
        step(`(e) ${Math.round(connect.rate)} events/s, peak RSS ${round(connect.maxRssMb, 1)} MB`);
      },
      f: async () => {
        const other = await ingestInChild(config, total, baselineCheckout);
        baselineRates.push(other.rate);
        baselineRss.push(other.maxRssMb);
        step(`(f) ${Math.round(other.rate)} events/s, peak RSS ${round(other.maxRssMb, 1)} MB, ${gcText(other.gc)} (${baselineCheckout})`);
      },
    };
    const order = [...(withConnect ? ['b', 'd', 'e'] : ['b', 'd']), ...(baselineCheckout ? ['f'] : [])];
    const rounds = Number(args.rounds);
    for (let r = 0; r < rounds; r++) {
      step(`round ${r + 1} of ${rounds}`);
      for (let i = 0; i < order.length; i++) {
        await runs[order[(i + r) % order.length]!]!();
        await truncate(adminUrl);
      }
    }
    rmSync(file, { force: true });
    if (withConnect) await deleteTopic(config.KAFKA_BROKERS, connectTopic).catch(() => undefined);
    const copyRate = median(copyRates);
    const ingestRate = median(ingestRates);
    const connectRate = withConnect ? median(connectRates) : NaN;
    const ingest = { rate: ingestRate, maxRssMb: Math.max(...ingestRss) };

    const rate = Number(args.rate);
    step(`freshness at a steady ${rate} events/s for ${args['steady-seconds']} s`);
    const fresh = await freshness(config, adminUrl, rate, Number(args['steady-seconds']));
    step(
      `freshness p50 ${fresh.p50} ms, p99 ${fresh.p99} ms over ${fresh.count} events (the producer reached ${fresh.producedRate} events/s)`,
    );
    await truncate(adminUrl);

    printBenchResult({
      bench: 'ingest-kafka',
      metric: 'events_per_second',
      unit: 'events/s',
      value: Math.round(ingest.rate),
      baselines: {
        read_ceiling_kafkajs: Math.round(readRate),
        psql_copy_ceiling: Math.round(copyRate),
        naive_insert_per_message: Math.round(naiveRate),
        ...(withConnect ? { kafka_connect_debezium_jdbc: Math.round(connectRate) } : {}),
        ...(baselineCheckout ? { baseline_checkout_ingestor: Math.round(median(baselineRates)) } : {}),
      },
      ratio_to_ceiling: round(ingest.rate / readRate),
      extra: {
        events: total,
        partitions: config.KAFKA_PARTITIONS,
        batch_rows: config.INGEST_BATCH_ROWS,
        rounds,
        ratio_to_write_ceiling: round(ingest.rate / copyRate),
        ...(withConnect
          ? {
              ratio_to_kafka_connect: round(ingest.rate / connectRate, 2),
              kafka_connect_peak_rss_mb: round(Math.max(...connectRss), 1),
              target_2x_kafka_connect: ingest.rate >= 2 * connectRate,
            }
          : {}),
        target_half_of_typed_copy: ingest.rate >= 0.5 * copyRate,
        ...(baselineCheckout
          ? {
              ratio_to_baseline_checkout: round(ingest.rate / median(baselineRates), 2),
              baseline_checkout_ratio_to_write_ceiling: round(median(baselineRates) / copyRate),
              baseline_checkout_peak_rss_mb: round(Math.max(...baselineRss), 1),
              per_round: JSON.stringify({ b: copyRates.map(Math.round), d: ingestRates.map(Math.round), f: baselineRates.map(Math.round) }),
            }
          : {}),
        ratio_to_naive: round(ingest.rate / naiveRate, 1),
        freshness_p50_ms: fresh.p50,
        freshness_p99_ms: fresh.p99,
        freshness_rate: rate,
        freshness_produced_rate: fresh.producedRate,
        peak_rss_mb: round(ingest.maxRssMb, 1),
        ...(ingestGc.length > 0
          ? {
              gc_scavenges_median: median(ingestGc.map((g) => g.minorCount)),
              gc_scavenge_ms_median: Math.round(median(ingestGc.map((g) => g.minorMs))),
              gc_mark_sweep_ms_median: Math.round(median(ingestGc.map((g) => g.majorMs))),
            }
          : {}),
        target_80pct_of_read: ingest.rate >= 0.8 * readRate,
        target_50k: ingest.rate >= 50_000,
        target_20x_naive: ingest.rate >= 20 * naiveRate,
        target_p99_under_1s: fresh.p99 < 1_000,
        target_rss_under_300mb: ingest.maxRssMb < 300,
      },
    });
  } finally {
    await deleteTopic(config.KAFKA_BROKERS, topic).catch(() => undefined);
  }
}

if (args['child-ingest']) await childIngest(args['child-ingest']);
else if (args['child-steady']) await childSteady(args['child-steady']);
else await main();
