/**
 * The ingestor against the real Kafka and Postgres, in-process: validation and dead letters,
 * exactly-once across re-runs, Postgres connections dying mid-stream, and a consumer group
 * rebalancing while it loads.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { malformedCases, sampleMessage, seededRandom } from '../../../ingest/kafka/sample-events.ts';
import { createEventProducer } from '../../../lib/kafka/producer.ts';
import { createTransactionalProducer } from '../../../lib/kafka/kafkajs-transactional.ts';
import type { Config } from '../../../lib/config/index.ts';
import { createTestTopic, type TestTopic } from '../../helpers/kafka.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { expectExactlyOnce, ingestor, landed, produceEvents, quietLogger, runUntilCaughtUp } from './support.ts';

let warehouse: TestWarehouse;
const topics: TestTopic[] = [];

beforeAll(async () => {
  warehouse = await createTestWarehouse('ingest_kafka');
});

afterAll(async () => {
  for (const t of topics) await t.delete();
  await warehouse?.drop();
});

async function topicConfig(label: string, partitions = 3): Promise<{ topic: string; config: Config }> {
  const t = await createTestTopic(label, partitions);
  topics.push(t);
  const config = testConfig({
    WAREHOUSE_URL: warehouse.adminUrl,
    KAFKA_TOPIC: t.topic,
    KAFKA_GROUP_ID: t.groupId,
    KAFKA_PARTITIONS: String(partitions),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
  });
  return { topic: t.topic, config };
}

async function waitForLanded(config: Config, topic: string, total: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, topic);
    if (state.events + state.deadLetters >= total) return;
    if (Date.now() > deadline) throw new Error(`only ${state.events + state.deadLetters} of ${total} records landed after ${timeoutMs} ms`);
    await sleep(250);
  }
}

describe('Kafka ingestor', () => {
  it('lands valid events once and every malformed kind as a dead letter with its reason and original bytes', async () => {
    const { topic, config } = await topicConfig('malformed');
    const cases = malformedCases(seededRandom(7));
    const produced = await produceEvents(
      config,
      topic,
      3_000,
      1,
      cases.map((c) => c.message),
    );
    const summary = await runUntilCaughtUp(config);
    expect(summary.reason).toBe('caught-up');
    await expectExactlyOnce(warehouse.adminUrl, config, topic, produced);

    const letters = await pgQuery<{
      error_code: string;
      reason: string;
      payload: Buffer | null;
      payload_bytes: number | null;
      kafka_offset: string;
    }>(`select error_code, reason, payload, payload_bytes, kafka_offset from raw.dead_letters where topic = $1 order by kafka_offset`, [
      topic,
    ]);
    expect(letters).toHaveLength(cases.length);
    for (const c of cases) {
      const original = c.message.value === null ? null : Buffer.from(c.message.value);
      const letter = letters.find((l) => (l.payload === null ? original === null : original !== null && l.payload.equals(original)));
      expect(letter, c.name).toBeDefined();
      expect(letter!.error_code, c.name).toBe(c.expectedCode);
      expect(letter!.reason, c.name).toContain(c.reasonMentions);
      expect(letter!.payload_bytes, c.name).toBe(original?.length ?? null);
    }

    // A second run finds nothing new: the stored offsets, not Kafka's, decide where it resumes.
    const again = await runUntilCaughtUp(config);
    expect(again.events + again.deadLetters).toBe(0);
    await expectExactlyOnce(warehouse.adminUrl, config, topic, produced);
    const metrics = await pgQuery<{ rows_loaded: string }>(`select rows_loaded from ingest.metrics where details->>'topic' = $1`, [topic]);
    expect(metrics.reduce((n, m) => n + Number(m.rows_loaded), 0)).toBe(3_000);
  });

  it('keeps exactly-once when its Postgres connections are killed mid-stream', async () => {
    // Restarting the shared test Postgres would break every other test file running at the same
    // time, so this kills this ingestor's own backends instead (pg_terminate_backend): to the
    // client that is the same event as a server restart, a connection dropping mid-COPY or
    // mid-commit, and it exercises the same retry-and-resume path.
    const { topic, config } = await topicConfig('pg_terminate');
    const running = ingestor(config, { stopWhen: { mode: 'never' }, batchRows: 500, batchMaxMs: 50 });
    const done = running.run();
    const total = 20_000;
    const producing = produceEvents(config, topic, total, 2);
    let killed = 0;
    for (let i = 0; i < 8; i++) {
      await sleep(400 + Math.random() * 400);
      killed += await terminateIngestBackends();
    }
    await producing;
    await waitForLanded(config, topic, total);
    await running.stop();
    await done;
    expect(killed).toBeGreaterThan(0);
    await expectExactlyOnce(warehouse.adminUrl, config, topic, total);
  });

  it('commits a record that arrives alone within the age bound, however long the ingestor was idle before', async () => {
    const { topic, config } = await topicConfig('trickle', 1);
    const latencies: number[] = [];
    let commits = 0;
    const running = ingestor(config, {
      stopWhen: { mode: 'never' },
      batchRows: 10_000,
      batchMaxMs: 100,
      onCommitted: ({ committedAt, flushMs, timestampsMs }) => {
        commits++;
        // Produce to flush start: the wait the age bound governs, without the transaction's own
        // time, which a loaded machine stretches to seconds.
        for (const list of timestampsMs) for (const t of list) latencies.push(committedAt - flushMs - t);
      },
    });
    const done = running.run();
    const producer = await createEventProducer({ brokers: config.KAFKA_BROKERS, clientId: 'test-trickle' }, quietLogger());
    const random = seededRandom(5);
    const sendOneAndWait = async (index: number) => {
      const before = commits;
      await producer.send(topic, [{ ...sampleMessage(index, random), timestampMs: Date.now() }]);
      for (let i = 0; commits === before; i++) {
        if (i > 300) throw new Error('a single record was not committed within 30 s');
        await sleep(100);
      }
    };
    try {
      // The first record waits for the group to form; it is not counted.
      await sendOneAndWait(0);
      latencies.length = 0;
      for (let i = 1; i <= 5; i++) {
        // Idle for longer than any internal wake-up interval, so the flusher is asleep when the record comes.
        await sleep(1_100);
        await sendOneAndWait(i);
      }
    } finally {
      await producer.disconnect();
      await running.stop();
      await done;
    }
    latencies.sort((a, b) => a - b);
    // 100 ms of age bound plus a fetch (~120 ms); a flusher that slept until its own one-second
    // timer (it used to) starts ~800-900 ms after the produce.
    expect(latencies[2]!, `latencies: ${latencies.join(', ')}`).toBeLessThan(600);
  });

  it('lands the records of committed transactions once, and neither aborted records nor transaction markers', async () => {
    // A transactional producer's log holds a control record (marker) after each transaction and
    // the aborted transaction's records, which a read-committed consumer must not hand over: the
    // record decoder, the fetch's batch filter and admitBatch's holes all take part.
    const { topic, config } = await topicConfig('transactions', 1);
    const producer = await createTransactionalProducer(
      { brokers: config.KAFKA_BROKERS, clientId: 'test-transactions', transactionalId: `test-${topic}` },
      quietLogger(),
    );
    const random = seededRandom(23);
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => {
        const m = sampleMessage(from + i, random);
        return { topic, key: m.key, value: String(m.value) };
      });
    const first = batch(0, 40);
    const aborted = batch(40, 25);
    const second = batch(65, 30);
    try {
      await producer.sendAtomically(first);
      const open = await producer.begin();
      await open.send(aborted);
      await open.abort();
      await producer.sendAtomically(second);
    } finally {
      await producer.disconnect();
    }
    const run = ingestor(config, { stopWhen: { mode: 'never' } });
    const running = run.run();
    await waitForLanded(config, topic, first.length + second.length);
    await sleep(1_000); // anything beyond the committed records would land meanwhile
    await run.stop();
    await running;
    const client = new pg.Client({ connectionString: warehouse.adminUrl });
    await client.connect();
    try {
      const rows = await client.query<{ kafka_offset: string; event_id: string }>(
        'select kafka_offset, event_id from raw.shop_events where topic = $1 order by kafka_offset',
        [topic],
      );
      const dead = await client.query<{ n: string }>("select count(*) as n from raw.dead_letters where topic = $1 and source = 'kafka'", [
        topic,
      ]);
      // Offsets: the first transaction 0-39, its marker 40, the aborted records 41-65, their
      // marker 66, the second transaction 67-96.
      const expectedOffsets = [...first.map((_, i) => i), ...second.map((_, i) => 67 + i)].map(String);
      expect(rows.rows.map((r) => r.kafka_offset)).toEqual(expectedOffsets);
      const ids = (messages: { value: string }[]) => messages.map((m) => (JSON.parse(m.value) as { event_id: string }).event_id);
      expect(rows.rows.map((r) => r.event_id)).toEqual([...ids(first), ...ids(second)]);
      expect(Number(dead.rows[0]!.n)).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('stops when caught up on a topic whose log ends with a transaction marker, and again after a restart', async () => {
    // The marker after the last record is never delivered, so the position stored after that
    // record stays one below the high watermark; --until-caught-up used to wait for it forever.
    const { topic, config } = await topicConfig('tx-caught-up', 2);
    const producer = await createTransactionalProducer(
      { brokers: config.KAFKA_BROKERS, clientId: 'test-tx-caught-up', transactionalId: `test-${topic}` },
      quietLogger(),
    );
    const random = seededRandom(29);
    const records = Array.from({ length: 60 }, (_, i) => {
      const m = sampleMessage(i, random);
      return { topic, key: m.key, value: String(m.value) };
    });
    try {
      await producer.sendAtomically(records.slice(0, 30));
      const open = await producer.begin();
      await open.send(records.slice(30, 40));
      await open.abort();
      await producer.sendAtomically(records.slice(40));
    } finally {
      await producer.disconnect();
    }
    const untilCaughtUp = async () => {
      const run = ingestor(config, { stopWhen: { mode: 'caught-up' } });
      const timeout = sleep(60_000).then(() => 'still running' as const);
      const outcome = await Promise.race([run.run().then((summary) => summary.reason), timeout]);
      if (outcome === 'still running') await run.stop();
      return outcome;
    };
    expect(await untilCaughtUp()).toBe('caught-up');
    // Restarted with nothing new: it resumes at the marker, which it must step over again.
    expect(await untilCaughtUp()).toBe('caught-up');
    const state = await landed(warehouse.adminUrl, config.KAFKA_GROUP_ID, topic);
    expect(state.events + state.deadLetters).toBe(50);
  });

  it('shares partitions between two group members and stays exactly-once through two rebalances', async () => {
    const { topic, config } = await topicConfig('rebalance', 4);
    const a = ingestor(config, { stopWhen: { mode: 'never' } });
    const aDone = a.run();
    await produceEvents(config, topic, 6_000, 3);
    await waitForLanded(config, topic, 1);
    const b = ingestor(config, { stopWhen: { mode: 'never' } });
    const bDone = b.run();
    await produceEvents(config, topic, 6_000, 4);
    await sleep(2_000);
    // A leaves (drains and commits what it holds); B takes over all partitions.
    const aSummary = await a.stop();
    await aDone;
    await produceEvents(config, topic, 6_000, 5);
    await waitForLanded(config, topic, 18_000);
    const bSummary = await b.stop();
    await bDone;
    expect(aSummary.events).toBeGreaterThan(0);
    expect(bSummary.events).toBeGreaterThan(0);
    expect(aSummary.events + bSummary.events).toBe(18_000);
    await expectExactlyOnce(warehouse.adminUrl, config, topic, 18_000);
  });
});

async function pgQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: warehouse.adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function terminateIngestBackends(): Promise<number> {
  const rows = await pgQuery<{ terminated: boolean }>(
    `select pg_terminate_backend(pid) as terminated from pg_stat_activity
     where datname = $1 and application_name = 'shopflow-ingest-kafka' and pid <> pg_backend_pid()`,
    [warehouse.database],
  );
  return rows.filter((r) => r.terminated).length;
}
