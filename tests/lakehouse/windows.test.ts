/**
 * The real-time windows against hand-computed expectations: out-of-order events, an event
 * re-sent with the same event_id, one late but within the allowed lateness (counted), one
 * later than that (kept in realtime.late_events, not counted), and an invalid message (ignored);
 * per product and per category, the category from the products' latest change in
 * raw.shop_changes, written after the job started (so the job must read it fresh), one product
 * moved to another category, and one product the lake has not seen.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEventProducer, type OutgoingMessage } from '../../lib/kafka/producer.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { cartEvent } from '../ingest/kafka/corpus.ts';
import { quietLogger } from '../ingest/kafka/support.ts';
import {
  ensureLakehouseServices,
  lakehouseInstalled,
  lakeTestPlace,
  queryLake,
  removeLocalTables,
  startJob,
  testJobSettings,
  type LakeTestPlace,
} from './support.ts';

const at = (hhmm: string) => Date.parse(`2026-03-01T${hhmm}:00.000Z`);

/** A product's change as the CDC path lands it in raw.shop_changes (its key orders its changes). */
function productChange(product: number, category: string, offset: number): string {
  const image = JSON.stringify({ product_id: product, category }).replaceAll("'", "''");
  return (
    `('shop.products:{"product_id":${product}}', 'shop', 'products', 'update', '{"product_id":${product}}', null, '${image}', ` +
    `'binlog.000001', ${1000 + offset}, 0, null, null, timestamp '2026-03-01 09:00:00', null, 'shop.changes', 0, ${offset}, current_timestamp())`
  );
}

function cart(id: string, product: number, time: string, price: number, quantity: number): Record<string, unknown> {
  return cartEvent((e) => {
    e.event_id = id;
    e.product_id = product;
    e.event_time = new Date(at(time)).toISOString();
    e.price = price;
    e.quantity = quantity;
  });
}

// Skipped only where the lakehouse is not installed (LAKEHOUSE_ENABLED unset); CI installs it.
describe.skipIf(!lakehouseInstalled(testConfig()))('real-time revenue windows', () => {
  let warehouse: TestWarehouse;
  let topic: TestTopic;
  let place: LakeTestPlace;

  beforeAll(async () => {
    [warehouse, topic] = await Promise.all([createTestWarehouse('lake_windows'), createTestTopic('lake-windows', 1)]);
    place = lakeTestPlace('windows');
    await ensureLakehouseServices(warehouse.config);
  });

  afterAll(async () => {
    place?.cleanup();
    if (warehouse) removeLocalTables(warehouse.config, place.warehousePrefix);
    await topic?.delete();
    await warehouse?.drop();
  });

  it('counts on-time and late-within-watermark events once, keeps later ones apart', { timeout: 1_200_000 }, async () => {
    const config = { ...warehouse.config, KAFKA_TOPIC: topic.topic };
    const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const resent = cart(id(2), 1, '10:07', 5, 2);
    // [event, arrival time (the Kafka timestamp)], in the order they arrive.
    const arrivals: [Record<string, unknown> | string, string][] = [
      [cart(id(1), 1, '10:01', 10, 1), '10:01'],
      [cart(id(8), 9, '10:02', 4, 1), '10:02'], // a product the lake has no change of: category unknown
      [resent, '10:07'],
      [cart(id(3), 1, '10:03', 20, 1), '10:08'], // out of order, 5 minutes late: counted
      [resent, '10:09'], // re-sent: counted once
      [cart(id(4), 2, '10:04', 7.5, 2), '10:12'], // 8 minutes late, within the 10 allowed: counted
      [cart(id(5), 2, '09:30', 100, 1), '10:12'], // 42 minutes late: kept, not counted
      ['{"event_type": "add_to_cart", "broken": ', '10:13'], // not an event: ignored
      [cart(id(6), 1, '10:59', 1, 3), '10:59'],
      [cart(id(7), 3, '12:30', 1, 1), '12:30'], // moves the watermark past every window above
    ];
    const settings = testJobSettings(config, 'windows', place);
    const job = startJob(config, 'windows', settings, join(place.checkpointRoot, 'windows.log'));
    // The categories reach the lake after the job started (it creates raw.shop_changes): product 2
    // moved from kitchen to garden, so its latest change counts.
    const categories = `insert into lake.raw.shop_changes values ${[
      productChange(1, 'kitchen', 0),
      productChange(2, 'kitchen', 1),
      productChange(2, 'garden', 2),
    ].join(', ')}`;
    for (let tries = 0; ; tries++) {
      await sleep(10_000);
      job.assertAlive();
      try {
        queryLake(config, settings, [categories]);
        break;
      } catch (error) {
        if (tries > 30) throw error; // raw.shop_changes never appeared
      }
    }
    const producer = await createEventProducer(
      { brokers: config.KAFKA_BROKERS, clientId: 'test-windows', idempotent: true },
      quietLogger(),
    );
    try {
      const messages: OutgoingMessage[] = arrivals.map(([event, arrival]) => ({
        key: 'windows-session',
        value: typeof event === 'string' ? event : JSON.stringify(event),
        timestampMs: at(arrival),
      }));
      await producer.send(topic.topic, messages);
    } finally {
      await producer.disconnect();
    }

    const statements = [
      "select date_format(window_start, 'HH:mm') as start, date_format(window_end, 'HH:mm') as end, product_id, cast(revenue as string) as revenue, events from lake.realtime.revenue_5m order by window_start, product_id",
      "select date_format(window_start, 'HH:mm') as start, date_format(window_end, 'HH:mm') as end, product_id, cast(revenue as string) as revenue, events from lake.realtime.revenue_1h order by window_start, product_id",
      "select date_format(window_start, 'HH:mm') as start, date_format(window_end, 'HH:mm') as end, category, cast(revenue as string) as revenue, events from lake.realtime.category_revenue_5m order by window_start, category",
      "select date_format(window_start, 'HH:mm') as start, date_format(window_end, 'HH:mm') as end, category, cast(revenue as string) as revenue, events from lake.realtime.category_revenue_1h order by window_start, category",
      'select event_id, delay_seconds, cast(amount as string) as amount from lake.realtime.late_events',
    ];
    const expected = [
      [
        { start: '10:00', end: '10:05', product_id: 1, revenue: '30.00', events: 2 },
        { start: '10:00', end: '10:05', product_id: 2, revenue: '15.00', events: 1 },
        { start: '10:00', end: '10:05', product_id: 9, revenue: '4.00', events: 1 },
        { start: '10:05', end: '10:10', product_id: 1, revenue: '10.00', events: 1 },
        { start: '10:55', end: '11:00', product_id: 1, revenue: '3.00', events: 1 },
      ],
      [
        { start: '10:00', end: '11:00', product_id: 1, revenue: '43.00', events: 4 },
        { start: '10:00', end: '11:00', product_id: 2, revenue: '15.00', events: 1 },
        { start: '10:00', end: '11:00', product_id: 9, revenue: '4.00', events: 1 },
      ],
      [
        { start: '10:00', end: '10:05', category: '(unknown)', revenue: '4.00', events: 1 },
        { start: '10:00', end: '10:05', category: 'garden', revenue: '15.00', events: 1 },
        { start: '10:00', end: '10:05', category: 'kitchen', revenue: '30.00', events: 2 },
        { start: '10:05', end: '10:10', category: 'kitchen', revenue: '10.00', events: 1 },
        { start: '10:55', end: '11:00', category: 'kitchen', revenue: '3.00', events: 1 },
      ],
      [
        { start: '10:00', end: '11:00', category: '(unknown)', revenue: '4.00', events: 1 },
        { start: '10:00', end: '11:00', category: 'garden', revenue: '15.00', events: 1 },
        { start: '10:00', end: '11:00', category: 'kitchen', revenue: '43.00', events: 4 },
      ],
      [{ event_id: id(5), delay_seconds: 42 * 60, amount: '100.00' }],
    ];
    let got: Record<string, unknown>[][] = [];
    try {
      // Generous: each poll starts a Spark SQL session, slow on a loaded two-core machine.
      const deadline = Date.now() + 900_000;
      for (;;) {
        await sleep(15_000);
        job.assertAlive();
        try {
          got = queryLake(config, settings, statements);
        } catch {
          got = []; // tables not created yet
        }
        if (got.length === expected.length && expected.every((rows, i) => i === expected.length - 1 || got[i]!.length >= rows.length))
          break;
        if (Date.now() > deadline) break;
      }
    } finally {
      await job.kill9();
    }
    expect(got).toEqual(expected);
  });
});
