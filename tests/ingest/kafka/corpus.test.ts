/**
 * The bad-input corpus against the real Kafka and Postgres. Before it, one snappy batch, one
 * record timestamp past the JavaScript Date range or one event the warehouse could not type
 * stopped a partition for good, and a key that was not UTF-8 was altered silently. Every entry
 * here must end as its stated outcome: landed (key and payload as sent), or a dead letter with
 * its code, a reason naming the problem, and the exact bytes of its key and value. Batches in
 * every codec come from Kafka's own console producer.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeMessage, EVENT_COLUMNS, type DeadLetterCode } from '../../../ingest/kafka/decode.ts';
import { writeFlush } from '../../../ingest/kafka/warehouse.ts';
import type { Segment } from '../../../ingest/kafka/buffer.ts';
import type { Config } from '../../../lib/config/index.ts';
import { createEventProducer } from '../../../lib/kafka/producer.ts';
import { createTestTopic, type TestTopic } from '../../helpers/kafka.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { CONSOLE_CODECS, cartEvent, consoleLines, rawCorpus, type ConsoleCodec } from './corpus.ts';
import { expectExactlyOnce, landedDifferences, quietLogger, runUntilCaughtUp } from './support.ts';

let warehouse: TestWarehouse;
const topics: TestTopic[] = [];

beforeAll(async () => {
  warehouse = await createTestWarehouse('ingest_kafka_corpus');
});

afterAll(async () => {
  for (const t of topics) await t.delete();
  await warehouse?.drop();
});

async function topicConfig(label: string): Promise<Config> {
  const t = await createTestTopic(label, 1);
  topics.push(t);
  return testConfig({
    WAREHOUSE_URL: warehouse.adminUrl,
    KAFKA_TOPIC: t.topic,
    KAFKA_GROUP_ID: t.groupId,
    KAFKA_PARTITIONS: '1',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
  });
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: warehouse.adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Kafka's console producer (the broker's own jars), writing `key|value` lines with one codec. */
function consoleProduce(config: Config, codec: ConsoleCodec, lines: string[]): Promise<void> {
  const args = [
    '-Xmx128m',
    '-cp',
    `${join(config.dataDir, 'kafka', 'lib')}/*`,
    'kafka.tools.ConsoleProducer',
    '--bootstrap-server',
    config.KAFKA_BROKERS[0]!,
    '--topic',
    config.KAFKA_TOPIC,
    '--compression-codec',
    codec,
    '--property',
    'parse.key=true',
    '--property',
    'key.separator=|',
    '--producer-property',
    'acks=all',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('java', args, { shell: false, stdio: ['pipe', 'ignore', 'pipe'], timeout: 120_000 });
    let stderr = '';
    child.on('error', reject);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`console producer (${codec}) exited ${code}: ${stderr.slice(-2000)}`)),
    );
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

interface LandedRow {
  kafka_offset: string;
  message_key: string | null;
  event_id: string;
  landed: Record<string, unknown>;
}
interface LetterRow {
  kafka_offset: string;
  message_key: Buffer | null;
  payload: Buffer | null;
  error_code: string;
  reason: string;
}

describe('Kafka ingestor bad-input corpus', () => {
  it('ends every kind of input as its outcome, in every codec, without stopping the partition', async () => {
    const config = await topicConfig('corpus');
    const corpus = rawCorpus(config.KAFKA_MAX_KEY_BYTES);
    expect(corpus.length).toBeGreaterThanOrEqual(40);

    // One send each, awaited: entry i is offset i of the single partition.
    const producer = await createEventProducer({ brokers: config.KAFKA_BROKERS, clientId: 'test-corpus', idempotent: true }, quietLogger());
    try {
      for (const entry of corpus) {
        await producer.send(config.KAFKA_TOPIC, [
          {
            key: entry.key,
            value: entry.value,
            partition: 0,
            ...(entry.timestampMs === undefined ? {} : { timestampMs: entry.timestampMs }),
          },
        ]);
      }
    } finally {
      await producer.disconnect();
    }
    const consoleRuns = CONSOLE_CODECS.map((codec) => ({ codec, ...consoleLines(codec, 40) }));
    await Promise.all(consoleRuns.map((run) => consoleProduce(config, run.codec, run.lines)));
    const produced = corpus.length + consoleRuns.reduce((n, run) => n + run.lines.length, 0);

    const summary = await runUntilCaughtUp(config);
    expect(summary.reason).toBe('caught-up');
    await expectExactlyOnce(warehouse.adminUrl, config, config.KAFKA_TOPIC, produced);

    const events = await query<LandedRow>(
      'select kafka_offset, message_key, event_id, to_jsonb(e) as landed from raw.shop_events as e where topic = $1',
      [config.KAFKA_TOPIC],
    );
    const letters = await query<LetterRow>(
      'select kafka_offset, message_key, payload, error_code, reason from raw.dead_letters where topic = $1',
      [config.KAFKA_TOPIC],
    );
    const eventAt = new Map(events.map((e) => [Number(e.kafka_offset), e]));
    const letterAt = new Map(letters.map((l) => [Number(l.kafka_offset), l]));

    const problems: string[] = [];
    for (const [offset, entry] of corpus.entries()) {
      const event = eventAt.get(offset);
      const letter = letterAt.get(offset);
      if (entry.outcome.landed) {
        if (!event) problems.push(`${entry.kind}: expected to land, got ${letter ? `${letter.error_code}: ${letter.reason}` : 'nothing'}`);
        else if (event.message_key !== (entry.key === null ? null : entry.key.toString('utf8')))
          problems.push(`${entry.kind}: key stored as ${event.message_key}`);
        else {
          const differences = landedDifferences(event.landed, JSON.parse(entry.value!.toString('utf8')) as Record<string, unknown>);
          if (differences.length > 0) problems.push(`${entry.kind}: ${differences.join('; ')}`);
        }
        continue;
      }
      if (!letter) {
        problems.push(`${entry.kind}: expected dead letter ${entry.outcome.code}, got ${event ? 'landed' : 'nothing'}`);
        continue;
      }
      if (letter.error_code !== entry.outcome.code || !letter.reason.includes(entry.outcome.reason)) {
        problems.push(
          `${entry.kind}: expected ${entry.outcome.code} mentioning "${entry.outcome.reason}", got ${letter.error_code}: ${letter.reason}`,
        );
      }
      // The exact bytes, key and value.
      const sameKey = entry.key === null ? letter.message_key === null : letter.message_key?.equals(entry.key) === true;
      const sameValue = entry.value === null ? letter.payload === null : letter.payload?.equals(entry.value) === true;
      if (!sameKey || !sameValue)
        problems.push(`${entry.kind}: dead letter does not keep the exact bytes (key ${sameKey}, value ${sameValue})`);
    }
    for (const run of consoleRuns) {
      const landedIds = new Set(events.map((e) => e.event_id));
      const missing = run.eventIds.filter((id) => !landedIds.has(id));
      if (missing.length > 0) problems.push(`console ${run.codec}: ${missing.length} of ${run.eventIds.length} events did not land`);
      const letter = letters.find((l) => l.payload?.equals(Buffer.from(run.invalid)));
      if (letter?.error_code !== 'invalid_json' || letter.message_key?.toString() !== `console-${run.codec}-bad`)
        problems.push(`console ${run.codec}: the invalid line is not an invalid_json dead letter with its key`);
    }
    expect(problems).toEqual([]);
    expect(letters.filter((l) => l.error_code === 'warehouse_rejected')).toEqual([]);

    // The record stamped 0 (an unset producer clock) does not show as a 57-year lag.
    const metrics = await query<{ lag_ms: number | null; implausible: string }>(
      `select lag_ms, details->>'implausible_timestamps' as implausible from ingest.metrics where details->>'topic' = $1`,
      [config.KAFKA_TOPIC],
    );
    expect(metrics.length).toBeGreaterThan(0);
    expect(Math.max(...metrics.map((m) => m.lag_ms ?? 0))).toBeLessThan(3_600_000);
    expect(metrics.reduce((n, m) => n + Number(m.implausible), 0)).toBeGreaterThanOrEqual(1);
  });

  it('isolates a row Postgres refuses (an integer past its column, SQLSTATE 22003; a timestamp past timestamptz) and lands the rest of the flush, dead-lettering the exact bytes', async () => {
    // The decoder refuses both before COPY; this pins the flush's own last line of defence.
    const config = await topicConfig('bisect');
    const good = (offset: number) => {
      const value = Buffer.from(JSON.stringify(cartEvent()));
      const decoded = decodeMessage(config.KAFKA_TOPIC, 0, {
        offset: BigInt(offset),
        key: Buffer.from('k'),
        value,
        timestampMs: Date.now(),
      });
      if (!decoded.ok) throw new Error('expected a valid line');
      return { ...decoded, value };
    };
    const fields = (line: string) => line.slice(0, -1).split('\t');
    const rows = [0, 1, 2, 3, 4].map(good);
    const pastInteger = fields(rows[1]!.line);
    pastInteger[EVENT_COLUMNS.indexOf('quantity')] = '99999999999';
    const farFuture = fields(rows[3]!.line);
    farFuture[EVENT_COLUMNS.indexOf('event_time')] = '300000-01-01T00:00:00Z';
    const lines = [rows[0]!.line, `${pastInteger.join('\t')}\n`, rows[2]!.line, `${farFuture.join('\t')}\n`, rows[4]!.line];
    const segment: Segment = {
      partition: 0,
      start: 0n,
      end: 5n,
      copy: Buffer.from(lines.join('')),
      sources: Buffer.concat(rows.map((r) => r.value)),
      sourceEnds: rows.map((_, i) => rows.slice(0, i + 1).reduce((n, r) => n + r.value.length, 0)),
      events: 5,
      deadLetters: [],
      timestampsMs: lines.map(() => Date.now()),
      bytes: lines.join('').length,
      waitingSince: Date.now(),
      generation: 1,
    };
    const pool = new pg.Pool({ connectionString: warehouse.adminUrl, max: 1 });
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      try {
        const target = { groupId: config.KAFKA_GROUP_ID, topic: config.KAFKA_TOPIC };
        const first = writeFlush(client, target, [segment]);
        await expect(first).rejects.toMatchObject({ code: '22003' });
        await client.query('ROLLBACK');
        const result = await writeFlush(client, target, [segment], { isolateBadRows: true });
        expect(result.eventsLoaded).toBe(3);
        expect(result.rejectedByWarehouse).toBe(2);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
    const letters = await query<{ kafka_offset: string; error_code: DeadLetterCode; details: { sqlstate: string }; payload: Buffer }>(
      'select kafka_offset, error_code, details, payload from raw.dead_letters where topic = $1 order by kafka_offset',
      [config.KAFKA_TOPIC],
    );
    expect(letters.map((l) => [l.kafka_offset, l.error_code, l.details.sqlstate])).toEqual([
      ['1', 'warehouse_rejected', '22003'],
      ['3', 'warehouse_rejected', '22008'],
    ]);
    // The message as it was sent, not the typed row built from it.
    expect(letters.map((l) => l.payload)).toEqual([rows[1]!.value, rows[3]!.value]);
    const stored = await query<{ n: string }>('select count(*) as n from raw.shop_events where topic = $1', [config.KAFKA_TOPIC]);
    expect(Number(stored[0]!.n)).toBe(3);
  });
});
