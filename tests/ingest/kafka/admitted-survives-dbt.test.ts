/**
 * Anything the Kafka ingestor admits survives `dbt build`. Events the zod schema accepted but the
 * warehouse's types could not hold (integers past int4, money past numeric(12,2), 2.0 for an
 * integer, year 9999) used to land in raw and fail every later build until rows were deleted by
 * hand. Here fast-check generates events within the contract's bounds, weighted towards the
 * bounds themselves, they go through the real Kafka and the ingestor, and dbt builds the
 * clickstream staging model, everything downstream of it and the parents those need.
 *
 * Data tests of the downstream models are left out of the build: they check references into
 * the shop database (an order_id of an existing order, say), which a generated clickstream
 * cannot satisfy; the staging model's own tests run after the build.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeMessage } from '../../../ingest/kafka/decode.ts';
import { EVENT_TIME_END_MS, EVENT_TIME_MIN_MS, INT4_MAX, MONEY_MAX } from '../../../lib/events/bounds.ts';
import { createEventProducer, type OutgoingMessage } from '../../../lib/kafka/producer.ts';
import { createTestTopic, type TestTopic } from '../../helpers/kafka.ts';
import { testConfig } from '../../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';
import { dbtRunner, withPg } from '../../dbt/helpers.ts';
import { boundedEvent } from '../../lib/events/arbitraries.ts';
import { expectExactlyOnce, quietLogger, runUntilCaughtUp } from './support.ts';

let warehouse: TestWarehouse;
let topic: TestTopic;

beforeAll(async () => {
  warehouse = await createTestWarehouse('kafka_admitted_dbt');
  topic = await createTestTopic('admitted-dbt', 1);
});

afterAll(async () => {
  await topic?.delete();
  await warehouse?.drop();
});

/** Every bound at once, in one event of each type that carries it. */
function extremes(): Record<string, unknown>[] {
  const base = {
    schema_version: 1,
    event_time: new Date(EVENT_TIME_END_MS - 1).toISOString(),
    session_id: 'x'.repeat(64),
    customer_id: Number.MAX_SAFE_INTEGER,
    anonymous_id: 'y'.repeat(64),
    device: 'tablet',
    country_code: 'ZZ',
    page_url: 'u'.repeat(2048),
    referrer: null,
  };
  const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return [
    { ...base, event_id: id(1), event_type: 'product_view', product_id: Number.MAX_SAFE_INTEGER, price: MONEY_MAX },
    { ...base, event_id: id(2), event_type: 'add_to_cart', product_id: Number.MAX_SAFE_INTEGER, price: MONEY_MAX, quantity: 1000 },
    { ...base, event_id: id(3), event_type: 'checkout_started', cart_value: MONEY_MAX, item_count: INT4_MAX },
    {
      ...base,
      event_id: id(4),
      event_type: 'order_placed',
      order_id: Number.MAX_SAFE_INTEGER,
      order_total: MONEY_MAX,
      item_count: INT4_MAX,
    },
    {
      ...base,
      event_id: id(5),
      event_type: 'order_placed',
      order_id: Number.MAX_SAFE_INTEGER - 1,
      order_total: MONEY_MAX,
      item_count: INT4_MAX,
    },
    { ...base, event_id: id(6), event_type: 'page_view', event_time: new Date(EVENT_TIME_MIN_MS).toISOString(), customer_id: null },
  ];
}

describe('admitted events and dbt', () => {
  it(
    'builds the clickstream staging model and everything downstream of it from events at the bounds',
    async () => {
      const config = testConfig({
        WAREHOUSE_URL: warehouse.adminUrl,
        KAFKA_TOPIC: topic.topic,
        KAFKA_GROUP_ID: topic.groupId,
        KAFKA_PARTITIONS: '1',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
      });
      const generated = fc.sample(boundedEvent, { numRuns: 400, seed: 4242 });
      // Same sessions for many events, so sessions and funnels aggregate several bounded rows.
      generated.forEach((e, i) => {
        if (i % 3 === 0) e.session_id = `shared-${i % 4}`;
      });
      const messages: OutgoingMessage[] = [];
      for (const event of [...extremes(), ...generated]) {
        const value = Buffer.from(JSON.stringify(event));
        const key = Buffer.from(String(event.session_id));
        // Only what the decoder admits is the subject here (a NUL in a generated string is not).
        if (decodeMessage(topic.topic, 0, { offset: 0n, key, value, timestampMs: Date.now() }).ok)
          messages.push({ key, value, partition: 0 });
      }
      expect(messages.length).toBeGreaterThan(350);

      const producer = await createEventProducer(
        { brokers: config.KAFKA_BROKERS, clientId: 'test-admitted-dbt', idempotent: true },
        quietLogger(),
      );
      try {
        await producer.send(topic.topic, messages);
      } finally {
        await producer.disconnect();
      }
      await runUntilCaughtUp(config);
      const state = await expectExactlyOnce(warehouse.adminUrl, config, topic.topic, messages.length);
      expect(state.deadLetters).toBe(0);

      const runner = dbtRunner(warehouse.config);
      try {
        await runner.dbt(['build', '--select', '@stg_clickstream__events', '--exclude', 'test_type:data']);
        await runner.dbt(['test', '--select', 'stg_clickstream__events']);
      } finally {
        runner.cleanup();
      }
      const staged = await withPg(warehouse.adminUrl, (client) =>
        client.query<{ n: string; max_total: string }>(
          'select count(*) as n, max(order_total)::text as max_total from staging.stg_clickstream__events',
        ),
      );
      expect(Number(staged.rows[0]!.n)).toBe(
        new Set(messages.map((m) => (JSON.parse(String(m.value)) as { event_id: string }).event_id.toLowerCase())).size,
      );
      expect(staged.rows[0]!.max_total).toBe('9999999999.99');
    },
    15 * 60_000,
  );
});
