/** Shared pieces of the Kafka ingestor's integration tests: producing, running, and the exactly-once check. */
import { isDeepStrictEqual } from 'node:util';

import pg from 'pg';

import { KafkaIngestor, type KafkaIngestorOptions, type RunSummary } from '../../../ingest/kafka/ingestor.ts';
import { sampleMessage, seededRandom } from '../../../ingest/kafka/sample-events.ts';
import type { Config } from '../../../lib/config/index.ts';
import { EVENT_FIELD_COLUMNS } from '../../../lib/events/columns.ts';
import { withKafkaAdmin } from '../../../lib/kafka/admin.ts';
import { createEventProducer, type OutgoingMessage } from '../../../lib/kafka/producer.ts';
import { createLogger } from '../../../lib/logger.ts';

export const quietLogger = () => createLogger('test-ingest-kafka', process.env.LOG_LEVEL ?? 'error');

/**
 * Produces `count` valid events (keyed by session) in sends of 500; returns how many were sent.
 * Idempotent: a retried send on a loaded machine must not add records the test did not count.
 */
export async function produceEvents(
  config: Config,
  topic: string,
  count: number,
  seed = 1,
  extra: OutgoingMessage[] = [],
): Promise<number> {
  const producer = await createEventProducer({ brokers: config.KAFKA_BROKERS, clientId: 'test-producer', idempotent: true }, quietLogger());
  try {
    const random = seededRandom(seed);
    for (let i = 0; i < count; i += 500) {
      const messages: OutgoingMessage[] = [];
      for (let j = i; j < Math.min(count, i + 500); j++) messages.push(sampleMessage(j, random));
      await producer.send(topic, messages);
    }
    if (extra.length > 0) await producer.send(topic, extra);
  } finally {
    await producer.disconnect();
  }
  return count + extra.length;
}

export function ingestor(config: Config, overrides: Partial<KafkaIngestorOptions> = {}): KafkaIngestor {
  return new KafkaIngestor({
    config,
    logger: quietLogger(),
    groupId: config.KAFKA_GROUP_ID,
    topic: config.KAFKA_TOPIC,
    batchRows: 2_000,
    batchMaxMs: 200,
    stopWhen: { mode: 'caught-up' },
    ...overrides,
  });
}

export async function runUntilCaughtUp(config: Config, overrides: Partial<KafkaIngestorOptions> = {}): Promise<RunSummary> {
  return ingestor(config, { stopWhen: { mode: 'idle', idleMs: 1_500 }, ...overrides }).run();
}

export async function highWatermarks(config: Config, topic: string): Promise<Map<number, bigint>> {
  const offsets = await withKafkaAdmin(config.KAFKA_BROKERS, (admin) => admin.watermarks(topic));
  return new Map(offsets.map((o) => [o.partition, o.high]));
}

export interface LandedState {
  events: number;
  deadLetters: number;
  /** Per partition: records landed (events + dead letters), distinct offsets, max offset + 1, stored next offset. */
  partitions: Map<number, { records: number; distinct: number; end: bigint; stored: bigint | null }>;
}

export async function landed(adminUrl: string, groupId: string, topic: string): Promise<LandedState> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const counts = await client.query<{ events: string; dead: string }>(
      `select (select count(*) from raw.shop_events where topic = $1) as events,
              (select count(*) from raw.dead_letters where topic = $1 and source = 'kafka') as dead`,
      [topic],
    );
    const perPartition = await client.query<{
      p: number;
      records: string;
      distinct_offsets: string;
      end_offset: string | null;
      stored: string | null;
    }>(
      `with landed as (
         select kafka_partition, kafka_offset from raw.shop_events where topic = $1
         union all
         select kafka_partition, kafka_offset from raw.dead_letters where topic = $1 and source = 'kafka'
       )
       select coalesce(l.kafka_partition, o.kafka_partition) as p, count(l.kafka_offset) as records,
              count(distinct l.kafka_offset) as distinct_offsets, max(l.kafka_offset) + 1 as end_offset, max(o.next_offset) as stored
       from landed l full join (select * from ingest.kafka_offsets where consumer_group = $2 and topic = $1) o using (kafka_partition)
       group by 1 order by 1`,
      [topic, groupId],
    );
    return {
      events: Number(counts.rows[0]!.events),
      deadLetters: Number(counts.rows[0]!.dead),
      partitions: new Map(
        perPartition.rows.map((r) => [
          r.p,
          {
            records: Number(r.records),
            distinct: Number(r.distinct_offsets),
            end: BigInt(r.end_offset ?? 0),
            stored: r.stored === null ? null : BigInt(r.stored),
          },
        ]),
      ),
    };
  } finally {
    await client.end();
  }
}

/**
 * The exactly-once property: every offset of every partition up to the high watermark landed
 * once (as an event or a dead letter), and the stored next offset is exactly that watermark.
 */
export async function expectExactlyOnce(adminUrl: string, config: Config, topic: string, produced: number): Promise<LandedState> {
  const state = await landed(adminUrl, config.KAFKA_GROUP_ID, topic);
  const marks = await highWatermarks(config, topic);
  const problems: string[] = [];
  for (const [p, high] of marks) {
    const got = state.partitions.get(p) ?? { records: 0, distinct: 0, end: 0n, stored: null };
    if (BigInt(got.records) !== high || BigInt(got.distinct) !== high || got.end !== high || (got.stored ?? 0n) !== high) {
      problems.push(
        `partition ${p}: high watermark ${high}, landed ${got.records} (${got.distinct} distinct, up to ${got.end}), stored next offset ${got.stored}`,
      );
    }
  }
  if (state.events + state.deadLetters !== produced)
    problems.push(`produced ${produced}, landed ${state.events} events + ${state.deadLetters} dead letters`);
  if (problems.length > 0) throw new Error(`not exactly once:\n${problems.join('\n')}`);
  return state;
}

/** Environment for the CLI as a child process, pointed at the test warehouse and topic. */
export function cliEnv(config: Config, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[key]) env[key] = process.env[key];
  return {
    ...env,
    WAREHOUSE_URL: config.WAREHOUSE_URL,
    WAREHOUSE_INGEST_PASSWORD: config.WAREHOUSE_INGEST_PASSWORD,
    KAFKA_BROKERS: config.KAFKA_BROKERS.join(','),
    KAFKA_TOPIC: config.KAFKA_TOPIC,
    KAFKA_GROUP_ID: config.KAFKA_GROUP_ID,
    KAFKA_PARTITIONS: String(config.KAFKA_PARTITIONS),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/**
 * The fields where a landed row (raw.shop_events as `to_jsonb(row)`) differs from the event that
 * was sent: every contract column (lib/events/columns.ts) must hold the sent value, a field the
 * event type does not carry must be null, and the ingestor writes no payload.
 */
export function landedDifferences(row: Record<string, unknown>, sent: Record<string, unknown>): string[] {
  const differences: string[] = [];
  for (const { name } of EVENT_FIELD_COLUMNS) {
    const stored = row[name] ?? null;
    const expected = sent[name] ?? null;
    const same =
      name === 'event_time'
        ? typeof stored === 'string' && typeof expected === 'string' && Date.parse(stored) === Date.parse(expected)
        : isDeepStrictEqual(stored, expected);
    if (!same) differences.push(`${name}: stored ${JSON.stringify(stored)}, sent ${JSON.stringify(expected)}`);
  }
  if (row.payload !== null) differences.push('payload is set');
  return differences;
}
