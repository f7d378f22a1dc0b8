/**
 * Ingestor and pipeline rows, read from the warehouse as role transformer (it may read raw,
 * ingest and ops, and writes nothing here) and, for lag, from Kafka and the source's binlog.
 *
 * An ingestor that is not running is normal between `--until-idle` runs (the demo); it only
 * needs attention when data waits for it, or when a running scheduler should be running it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import mysql from 'mysql2/promise';

import { roleUrl, type Config } from '../../lib/config/index.ts';
import { DBT_PROJECT_DIR } from '../../lib/dbt/run.ts';
import { withKafkaAdmin } from '../../lib/kafka/admin.ts';
import { pgSourceName } from '../../ingest/pg-cdc/ingestor.ts';
import { pgSourceFromUrl } from '../../ingest/pg-cdc/source.ts';
import { coerceError } from '../../lib/errors.ts';
import { CronSchedule } from '../../scheduler/schedule.ts';
import { ago, type Row } from './model.ts';
import { moreSourceRows } from './more-sources.ts';
import { pgCdcRow } from './pg-cdc.ts';
import { stagingRejectsStatus } from './rejects.ts';
import { connectForStatus } from './connect.ts';

/** A report not in the ledger this long after its cron time is late (the 08:15 alert rule too). */
export const REPORT_GRACE_MS = 15 * 60_000;
/** A leader whose heartbeat is older than this is presumed dead. */
const HEARTBEAT_STALE_MS = 60_000;

interface KafkaFacts {
  partitions: Map<number, bigint>;
  members: number;
}

async function kafkaFacts(config: Config): Promise<KafkaFacts | 'no topic'> {
  return withKafkaAdmin(
    config.KAFKA_BROKERS,
    async (admin) => {
      const topics = await admin.listTopics();
      if (!topics.includes(config.KAFKA_TOPIC)) return 'no topic' as const;
      const offsets = await admin.watermarks(config.KAFKA_TOPIC);
      return {
        partitions: new Map(offsets.map((o) => [o.partition, o.high])),
        members: await admin.groupMemberCount(config.KAFKA_GROUP_ID),
      };
    },
    { connectionTimeoutMs: 2_000, retries: 0, clientId: 'shopflow-status' },
  );
}

async function binlogHead(config: Config): Promise<{ file: string; position: number } | null> {
  const connection = await mysql.createConnection({ uri: config.SHOP_DB_URL, connectTimeout: 3_000 });
  connection.on('error', () => undefined);
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('show master status');
    const row = rows[0];
    return row ? { file: String(row.File), position: Number(row.Position) } : null;
  } finally {
    await connection.end().catch(() => undefined);
  }
}

interface Ledger {
  kafkaOffsets: Map<number, bigint>;
  kafkaLastBatch: Date | null;
  cdc: { source_name: string; binlog_file: string | null; binlog_position: string | null; snapshot_state: string; updated_at: Date } | null;
  cdcRunning: boolean;
  deadLettersToday: { kafka: number; cdc: number };
  gates: { gate: string; success: boolean; evaluated: number; failed: number; checked_at: Date }[];
  lastReport: { business_date: string; sent_at: Date } | null;
  leader: { pid: number; hostname: string; heartbeat_at: Date } | null;
  lastRun: { job: string; status: string; started_at: Date; error: string | null } | null;
}

async function readLedger(config: Config): Promise<Ledger> {
  const client = await connectForStatus(roleUrl(config, 'transformer'));
  try {
    const offsets = await client.query<{ kafka_partition: number; next_offset: string; updated_at: Date }>(
      'select kafka_partition, next_offset, updated_at from ingest.kafka_offsets where consumer_group = $1 and topic = $2',
      [config.KAFKA_GROUP_ID, config.KAFKA_TOPIC],
    );
    const cdc = await client.query<NonNullable<Ledger['cdc']>>(
      // The MariaDB ingestor's row; a Postgres shop's positions (source postgres:...) have their own (pg-cdc.ts).
      `select source_name, binlog_file, binlog_position::text, snapshot_state, updated_at from ingest.cdc_positions
        where source_name not like 'postgres:%' order by updated_at desc limit 1`,
    );
    // The CDC ingestor holds its instance lock (keyed by its source name, ingest/cdc/instance-lock.ts)
    // on a connection of its own for as long as it runs; the Postgres CDC ingestor takes the same kind.
    const cdcRunning = await client.query<{ n: number }>(
      `select count(*)::int as n from pg_locks
        where locktype = 'advisory' and granted and objsubid = 2 and classid = hashtext('shopflow-ingest-cdc')::oid
          and objid <> all (select hashtext(source_name)::oid from ingest.cdc_positions where source_name like 'postgres:%'
                            union all select hashtext($1)::oid)`,
      [pgSourceName(pgSourceFromUrl(config.SHOP_PG_URL, config.PG_CDC_SLOT, config.PG_CDC_PUBLICATION))],
    );
    const dead = await client.query<{ source: 'kafka' | 'cdc'; n: number }>(
      "select source, count(*)::int as n from raw.dead_letters where _loaded_at >= date_trunc('day', now()) group by source",
    );
    const gates = await client.query<Ledger['gates'][number]>(
      'select distinct on (gate) gate, success, evaluated, failed, checked_at from ops.gate_results order by gate, checked_at desc',
    );
    const report = await client.query<{ business_date: string; sent_at: Date }>(
      "select to_char(business_date, 'YYYY-MM-DD') as business_date, sent_at from ops.reports_sent order by sent_at desc limit 1",
    );
    const leader = await client.query<NonNullable<Ledger['leader']>>(
      "select pid, hostname, heartbeat_at from ops.scheduler_instances where role = 'leader' order by heartbeat_at desc limit 1",
    );
    const run = await client.query<NonNullable<Ledger['lastRun']>>(
      'select job, status, started_at, error from ops.runs order by started_at desc limit 1',
    );
    return {
      kafkaOffsets: new Map(offsets.rows.map((r) => [r.kafka_partition, BigInt(r.next_offset)])),
      kafkaLastBatch: offsets.rows.reduce<Date | null>((max, r) => (max === null || r.updated_at > max ? r.updated_at : max), null),
      cdc: cdc.rows[0] ?? null,
      cdcRunning: (cdcRunning.rows[0]?.n ?? 0) > 0,
      deadLettersToday: {
        kafka: dead.rows.find((r) => r.source === 'kafka')?.n ?? 0,
        cdc: dead.rows.find((r) => r.source === 'cdc')?.n ?? 0,
      },
      gates: gates.rows,
      lastReport: report.rows[0] ?? null,
      leader: leader.rows[0] ?? null,
      lastRun: run.rows[0] ?? null,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function kafkaRow(config: Config, ledger: Ledger, kafka: KafkaFacts | 'no topic' | Error, supervised: boolean, now: Date): Row {
  const dead = ledger.deadLettersToday.kafka;
  const base = `last batch ${ago(ledger.kafkaLastBatch, now)}, ${dead} dead letter${dead === 1 ? '' : 's'} today`;
  if (kafka instanceof Error)
    return {
      name: 'ingest:kafka',
      level: 'info',
      text: `lag unknown (Kafka: ${kafka.message.split('\n')[0]}), ${base}`,
      facts: { lastBatchAt: ledger.kafkaLastBatch, deadLettersToday: dead, kafkaError: kafka.message },
    };
  if (kafka === 'no topic')
    return {
      name: 'ingest:kafka',
      level: 'info',
      text: `topic ${config.KAFKA_TOPIC} does not exist yet (created by the first producer or ingestor)`,
      facts: { deadLettersToday: dead },
    };
  let lag = 0n;
  for (const [partition, high] of kafka.partitions) lag += high - (ledger.kafkaOffsets.get(partition) ?? 0n);
  const running = kafka.members > 0;
  const facts = { running, members: kafka.members, consumerLag: Number(lag), lastBatchAt: ledger.kafkaLastBatch, deadLettersToday: dead };
  const state = running ? `running (${kafka.members} member${kafka.members === 1 ? '' : 's'})` : 'not running';
  const text = `${state}, lag ${lag} event${lag === 1n ? '' : 's'}, ${base}`;
  if (!running && supervised)
    return {
      name: 'ingest:kafka',
      level: 'fail',
      text,
      fix: 'the scheduler should be running it: read its log (.data/logs/scheduler) for why it stopped',
      facts,
    };
  if (!running && lag > 0n)
    return {
      name: 'ingest:kafka',
      level: 'warn',
      text,
      fix: 'events wait in Kafka: run `npm run ingest:kafka -- --until-idle 5000`, or `npm run scheduler` to keep it running',
      facts,
    };
  return { name: 'ingest:kafka', level: 'ok', text, facts };
}

function cdcRow(ledger: Ledger, head: { file: string; position: number } | null | Error, supervised: boolean, now: Date): Row {
  const dead = ledger.deadLettersToday.cdc;
  const cdc = ledger.cdc;
  const state = ledger.cdcRunning ? 'running' : 'not running';
  if (!cdc) {
    return supervised
      ? {
          name: 'ingest:cdc',
          level: 'fail',
          text: `${state}, no position yet`,
          fix: 'the scheduler should be running it: read its log (.data/logs/scheduler)',
          facts: { running: ledger.cdcRunning },
        }
      : {
          name: 'ingest:cdc',
          level: 'info',
          text: `${state}, nothing captured yet (\`npm run ingest:cdc -- --until-idle 5000\` takes the first snapshot)`,
          facts: { running: ledger.cdcRunning },
        };
  }
  let lag = 'lag unknown';
  let behind: number | null = null;
  if (head && !(head instanceof Error) && cdc.binlog_file) {
    if (head.file === cdc.binlog_file) {
      behind = Math.max(0, head.position - Number(cdc.binlog_position ?? 0));
      lag = `${behind} binlog bytes behind`;
    } else {
      lag = `behind by binlog files (${cdc.binlog_file} -> ${head.file})`;
      behind = Number.POSITIVE_INFINITY;
    }
  }
  const snapshot = cdc.snapshot_state === 'done' ? '' : `, snapshot ${cdc.snapshot_state}`;
  const text = `${state}, ${lag}${snapshot}, last batch ${ago(cdc.updated_at, now)}, ${dead} dead letter${dead === 1 ? '' : 's'} today`;
  const facts = {
    running: ledger.cdcRunning,
    source: cdc.source_name,
    binlogFile: cdc.binlog_file,
    binlogPosition: cdc.binlog_position,
    bytesBehind: behind === Number.POSITIVE_INFINITY ? null : behind,
    snapshotState: cdc.snapshot_state,
    lastBatchAt: cdc.updated_at,
    deadLettersToday: dead,
  };
  if (!ledger.cdcRunning && supervised)
    return {
      name: 'ingest:cdc',
      level: 'fail',
      text,
      fix: 'the scheduler should be running it: read its log (.data/logs/scheduler) for why it stopped',
      facts,
    };
  if (cdc.snapshot_state !== 'done' && !ledger.cdcRunning)
    return {
      name: 'ingest:cdc',
      level: 'warn',
      text,
      fix: 'a snapshot was interrupted: run `npm run ingest:cdc -- --until-idle 5000` to finish it',
      facts,
    };
  return { name: 'ingest:cdc', level: 'ok', text, facts };
}

interface DbtResults {
  metadata?: { generated_at?: string };
  args?: { which?: string };
  elapsed_time?: number;
  results?: { unique_id: string; status: string }[];
}

/** The newest run_results.json of `npm run dbt` (dbt/target) and of the scheduler's builds. */
async function latestDbtResults(config: Config): Promise<DbtResults | null> {
  const candidates = [
    join(DBT_PROJECT_DIR, 'target', 'run_results.json'),
    join(config.dataDir, 'dbt', 'scheduler', 'target', 'run_results.json'),
  ];
  let newest: DbtResults | null = null;
  for (const path of candidates) {
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as DbtResults;
      if (!newest || (parsed.metadata?.generated_at ?? '') > (newest.metadata?.generated_at ?? '')) newest = parsed;
    } catch {
      // Not run there yet.
    }
  }
  return newest;
}

async function dbtRow(config: Config, now: Date): Promise<Row> {
  const parsed = await latestDbtResults(config);
  if (!parsed) return { name: 'dbt', level: 'info', text: 'no dbt run in this checkout yet (`npm run dbt -- build`)' };
  const results = parsed.results ?? [];
  const failed = results.filter((r) => r.status === 'error' || r.status === 'fail');
  const at = parsed.metadata?.generated_at ? new Date(parsed.metadata.generated_at) : null;
  const which = parsed.args?.which ?? 'run';
  const text = `last \`dbt ${which}\` ${ago(at, now)}: ${results.length - failed.length} ok, ${failed.length} failed${parsed.elapsed_time ? ` in ${Math.round(parsed.elapsed_time)} s` : ''}`;
  const facts = { command: which, at, nodes: results.length, failed: failed.map((r) => r.unique_id) };
  if (failed.length === 0) return { name: 'dbt', level: 'ok', text, facts };
  const names = failed
    .slice(0, 3)
    .map((r) => r.unique_id.split('.').pop())
    .join(', ');
  return {
    name: 'dbt',
    level: 'fail',
    text: `${text} (${names}${failed.length > 3 ? ', ...' : ''})`,
    fix: `rerun \`npm run dbt -- build --select ${failed[0]!.unique_id.split('.').pop()}\` and read its first error (all results: dbt/target/run_results.json)`,
    facts,
  };
}

function gateRow(ledger: Ledger, now: Date): Row {
  if (ledger.gates.length === 0) return { name: 'gate', level: 'info', text: 'never run (`npm run gate`)' };
  const failed = ledger.gates.filter((g) => !g.success);
  const newest = ledger.gates.reduce((a, b) => (a.checked_at > b.checked_at ? a : b));
  const parts = ledger.gates.map((g) => `${g.gate} ${g.success ? 'passed' : `FAILED (${g.failed} of ${g.evaluated})`}`);
  const facts = { gates: ledger.gates };
  if (failed.length === 0) return { name: 'gate', level: 'ok', text: `${parts.join(', ')}, ${ago(newest.checked_at, now)}`, facts };
  return {
    name: 'gate',
    level: 'fail',
    text: `${parts.join(', ')}, ${ago(newest.checked_at, now)}`,
    fix: 'run `npm run gate` to list the failed expectations (Data Docs: great_expectations/gx/uncommitted/data_docs/local_site/index.html); the report is withheld until it passes',
    facts,
  };
}

function reportRows(config: Config, ledger: Ledger, now: Date): Row[] {
  const schedule = new CronSchedule(config.REPORT_CRON, config.SCHEDULER_TZ);
  const next = schedule.nextOccurrence(now);
  const leaderAlive = ledger.leader !== null && now.getTime() - ledger.leader.heartbeat_at.getTime() < HEARTBEAT_STALE_MS;
  const rows: Row[] = [];
  const fmt = (d: Date) =>
    new Intl.DateTimeFormat('en-GB', { timeZone: config.SCHEDULER_TZ, dateStyle: 'medium', timeStyle: 'short' }).format(d);
  const last = ledger.lastReport;
  const lastText = last ? `last sent ${ago(last.sent_at, now)} (business date ${last.business_date})` : 'none sent yet';
  const nextText = next ? `next ${fmt(next)} ${config.SCHEDULER_TZ}` : 'no next time';
  const facts = { lastSentAt: last?.sent_at ?? null, lastBusinessDate: last?.business_date ?? null, nextAt: next };
  const due = schedule.latestOccurrence(new Date(now.getTime() - REPORT_GRACE_MS), new Date(now.getTime() - 24 * 3_600_000));
  if (leaderAlive && due && (!last || last.sent_at < due)) {
    rows.push({
      name: 'report',
      level: 'fail',
      text: `not sent for ${fmt(due)}; ${lastText}`,
      fix: "see `select * from ops.runs where job = 'report' order by started_at desc limit 3` for why; `npm run scheduler -- --once report` retries it",
      facts,
    });
  } else {
    rows.push({ name: 'report', level: 'ok', text: `${lastText}; ${nextText}${leaderAlive ? '' : ' if the scheduler runs'}`, facts });
  }
  if (ledger.leader && !leaderAlive) {
    rows.push({
      name: 'scheduler',
      level: 'warn',
      text: `leader pid ${ledger.leader.pid} on ${ledger.leader.hostname} silent since ${ago(ledger.leader.heartbeat_at, now)}`,
      fix: 'start `npm run scheduler` (a standby takes over by itself when there is one)',
      facts: { leader: ledger.leader },
    });
  } else if (leaderAlive) {
    const run = ledger.lastRun;
    const runText = run ? `; last job ${run.job} ${run.status} ${ago(run.started_at, now)}` : '';
    const level = run?.status === 'failed' ? 'warn' : 'ok';
    rows.push({
      name: 'scheduler',
      level,
      text: `running (leader pid ${ledger.leader!.pid} on ${ledger.leader!.hostname})${runText}`,
      ...(level === 'warn' ? { fix: `the ${run!.job} job failed: ${run!.error?.split('\n')[0] ?? 'see ops.run_steps'}` } : {}),
      facts: { leader: ledger.leader, lastRun: run },
    });
  } else {
    rows.push({
      name: 'scheduler',
      level: 'info',
      text: 'not running (`npm run scheduler` runs ingestion, dbt, the gate and the report on schedule)',
    });
  }
  return rows;
}

export interface PipelineRows {
  ingestors: Row[];
  pipeline: Row[];
}

export async function pipelineRows(config: Config, warehouseUp: boolean, now = new Date()): Promise<PipelineRows> {
  const dbt = await dbtRow(config, now);
  if (!warehouseUp) {
    const unknown = (name: string): Row => ({ name, level: 'info', text: 'unknown: the warehouse is not answering' });
    return {
      ingestors: [unknown('ingest:kafka'), unknown('ingest:cdc'), unknown('ingest:pg-cdc'), unknown('ingest:files'), unknown('ingest:api')],
      pipeline: [dbt, unknown('staging rejects'), unknown('gate'), unknown('report')],
    };
  }
  const ledger = await readLedger(config);
  const leaderAlive = ledger.leader !== null && now.getTime() - ledger.leader.heartbeat_at.getTime() < HEARTBEAT_STALE_MS;
  const [pgCdc, more, rejects, kafka, head] = await Promise.all([
    pgCdcRow(config, now, leaderAlive && config.SCHEDULER_INGESTORS.includes('pg-cdc')),
    moreSourceRows(config, now),
    stagingRejectsStatus(config).catch((error: unknown): Row => ({
      name: 'staging rejects',
      level: 'info',
      text: `unknown: ${coerceError(error).message.split('\n')[0]}`,
    })),
    kafkaFacts(config).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    binlogHead(config).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
  ]);
  return {
    ingestors: [
      kafkaRow(config, ledger, kafka, leaderAlive && config.SCHEDULER_INGESTORS.includes('kafka'), now),
      cdcRow(ledger, head, leaderAlive && config.SCHEDULER_INGESTORS.includes('cdc'), now),
      pgCdc,
      ...more,
    ],
    pipeline: [dbt, rejects, gateRow(ledger, now), ...reportRows(config, ledger, now)],
  };
}
