/**
 * The Kafka Connect baseline of `bench ingest-kafka`: what a team would deploy instead of a
 * custom ingestor, Kafka Connect 3.9.1 in standalone mode with Debezium's JDBC sink 3.0.7 into a
 * Postgres table of the same shape as raw.shop_events. Bench-only: the jars come from Maven
 * Central into <data>/bench/kafka-connect (bench/kafka-connect/*.pom.xml), fetched on first use
 * and again when a pom changes, like the broker's jars.
 *
 * The sink needs each record's schema, so its topic carries the same events as JSON with an
 * embedded schema (JsonConverter's envelope); Kafka's InsertField transform adds topic,
 * partition, offset and record timestamp, as the ShopFlow ingestor stores them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { ROOT_DIR } from '../../lib/config/index.ts';
import { EVENT_BODY_COLUMNS } from '../../lib/events/columns.ts';
import type { OutgoingMessage } from '../../lib/kafka/producer.ts';

const POMS = ['runtime.pom.xml', 'debezium-jdbc.pom.xml'].map((f) => join(ROOT_DIR, 'bench', 'kafka-connect', f));
/** Left out of the plugin folder: the worker provides them (see debezium-jdbc.pom.xml). */
const WORKER_PROVIDED = 'com.fasterxml.jackson.core,com.fasterxml.jackson.datatype,com.fasterxml.jackson.module,org.slf4j,org.apache.kafka';
export const CONNECT_TABLE = 'kc_shop_events';
/**
 * A heap large enough not to slow the worker (two tasks each holding a 10,000-record batch of
 * schema-carrying JSON): at 512 MB it spent its time collecting garbage. Capped all the same,
 * as every JVM the project starts on a shared machine.
 */
const HEAP = '-Xmx1g';

function mvnCopy(pom: string, out: string, extra: string[] = []): void {
  const run = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      pom,
      'org.apache.maven.plugins:maven-dependency-plugin:3.7.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${out}`,
      ...extra,
    ],
    { encoding: 'utf8' },
  );
  if (run.status !== 0) throw new Error(`mvn could not fetch ${pom} (needs Maven Central once): ${run.stdout}${run.stderr}`);
}

/** The worker's and the plugin's jars under `dir`, fetched unless the poms are unchanged. */
export function ensureConnectJars(dir: string): void {
  const hash = createHash('sha256');
  for (const pom of POMS) hash.update(readFileSync(pom));
  const want = hash.digest('hex');
  const stamp = join(dir, '.poms.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return;
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mvnCopy(POMS[0]!, join(staging, 'lib'));
  mvnCopy(POMS[1]!, join(staging, 'plugins', 'debezium-jdbc'), [`-DexcludeGroupIds=${WORKER_PROVIDED}`]);
  writeFileSync(join(staging, '.poms.sha256'), `${want}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}

type ConnectType = 'string' | 'int32' | 'int64' | 'double';
const connectType = (pgType: string): ConnectType =>
  pgType === 'integer' ? 'int32' : pgType === 'bigint' ? 'int64' : pgType.startsWith('numeric') ? 'double' : 'string';

const SCHEMA = {
  type: 'struct',
  name: 'shop_event',
  optional: false,
  fields: [
    { field: 'event_id', type: 'string', optional: false },
    { field: 'event_type', type: 'string', optional: false },
    // A string bound to timestamptz: the JDBC URL sends strings untyped (stringtype=unspecified).
    { field: 'event_time', type: 'string', optional: false },
    ...EVENT_BODY_COLUMNS.map((c) => ({ field: c.name, type: connectType(c.pgType), optional: true })),
  ],
};
const SCHEMA_JSON = JSON.stringify(SCHEMA);

/** The same event as the sink reads it: JsonConverter's {schema, payload} envelope. */
export function withEmbeddedSchema(message: OutgoingMessage): OutgoingMessage {
  const event = JSON.parse(message.value as string) as Record<string, unknown>;
  const payload: Record<string, unknown> = {};
  for (const field of SCHEMA.fields) payload[field.field] = event[field.field] ?? null;
  return { ...message, value: `{"schema":${SCHEMA_JSON},"payload":${JSON.stringify(payload)}}` };
}

/** The sink's table: raw.shop_events' columns (a plain table, same BRIN), in the bench database. */
export async function createConnectTable(client: pg.Client): Promise<void> {
  await client.query(`drop table if exists public.${CONNECT_TABLE};
    create table public.${CONNECT_TABLE} (like raw.shop_events including defaults);
    create index on public.${CONNECT_TABLE} using brin (_loaded_at) with (autosummarize = on);`);
}

export interface ConnectRun {
  rate: number;
  maxRssMb: number;
  seconds: number;
}

/**
 * Runs the worker until `total` rows are in the table; the clock starts at the first row (group
 * join and plugin scanning are not counted, as for the ingestor). Peak RSS from /proc.
 */
export async function runConnect(options: {
  dir: string;
  brokers: string[];
  topic: string;
  jdbcUrl: string;
  user: string;
  password: string;
  adminUrl: string;
  total: number;
  timeoutMs: number;
}): Promise<ConnectRun> {
  const run = join(options.dir, 'run');
  rmSync(run, { recursive: true, force: true });
  mkdirSync(run, { recursive: true });
  const worker = join(run, 'worker.properties');
  const sink = join(run, 'sink.properties');
  writeFileSync(
    worker,
    [
      `bootstrap.servers=${options.brokers.join(',')}`,
      'key.converter=org.apache.kafka.connect.storage.StringConverter',
      'value.converter=org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable=true',
      `offset.storage.file.filename=${join(run, 'connect.offsets')}`,
      `plugin.path=${join(options.dir, 'plugins')}`,
      'listeners=http://127.0.0.1:18083',
      'consumer.max.poll.records=10000',
      '',
    ].join('\n'),
  );
  writeFileSync(
    sink,
    [
      `name=bench-jdbc-sink-${Date.now()}`,
      'connector.class=io.debezium.connector.jdbc.JdbcSinkConnector',
      'tasks.max=2',
      `topics=${options.topic}`,
      `connection.url=${options.jdbcUrl}`,
      `connection.username=${options.user}`,
      `connection.password=${options.password}`,
      'insert.mode=insert',
      'primary.key.mode=none',
      'schema.evolution=none',
      `collection.name.format=${CONNECT_TABLE}`,
      'batch.size=10000',
      'transforms=position',
      'transforms.position.type=org.apache.kafka.connect.transforms.InsertField$Value',
      'transforms.position.topic.field=topic',
      'transforms.position.partition.field=kafka_partition',
      'transforms.position.offset.field=kafka_offset',
      'transforms.position.timestamp.field=kafka_timestamp',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(run, 'log4j.properties'),
    'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=[connect] %p %c{1} %m%n\n',
  );
  const child = spawn(
    'java',
    [
      HEAP,
      `-Dlog4j.configuration=file:${join(run, 'log4j.properties')}`,
      '-cp',
      `${join(options.dir, 'lib')}/*`,
      'org.apache.kafka.connect.cli.ConnectStandalone',
      worker,
      sink,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
  child.on('error', () => undefined);
  const client = new pg.Client({ connectionString: options.adminUrl, application_name: 'bench-connect-watch' });
  client.on('error', () => undefined);
  await client.connect();
  let peakKb = 0;
  try {
    const deadline = performance.now() + options.timeoutMs;
    let first = 0;
    let landed = 0;
    while (landed < options.total) {
      if (child.exitCode !== null) throw new Error(`Kafka Connect exited ${child.exitCode}: ${stderr}`);
      if (performance.now() > deadline) throw new Error(`Kafka Connect landed ${landed} of ${options.total} in time: ${stderr}`);
      peakKb = Math.max(peakKb, peakRssKb(child.pid));
      landed = Number((await client.query<{ n: string }>(`select count(*) as n from public.${CONNECT_TABLE}`)).rows[0]!.n);
      if (landed > 0 && first === 0) first = performance.now();
      if (landed < options.total) await sleep(250);
    }
    const seconds = (performance.now() - first) / 1000;
    peakKb = Math.max(peakKb, peakRssKb(child.pid));
    return { rate: options.total / seconds, maxRssMb: peakKb / 1024, seconds };
  } finally {
    await client.end();
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const exited = await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000).then(() => 'timeout')]);
      if (exited === 'timeout') child.kill('SIGKILL');
    }
    rmSync(run, { recursive: true, force: true });
  }
}

/** The high-water mark of a process's resident set (VmHWM), in kB; 0 if it is gone. */
function peakRssKb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}
