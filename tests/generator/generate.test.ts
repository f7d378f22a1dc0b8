/**
 * The generator against the real services: a small world written to MariaDB and Kafka, read
 * back and checked for determinism (two runs, same seed, identical tables and per-key message
 * streams), referential integrity across the two sinks, totals to the cent, bad flags that
 * write nothing, and --live continuing from what is in MariaDB.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseGenerateArgs, type GenerateOptions } from '../../generator/args.ts';
import { runGenerate } from '../../generator/run.ts';
import type { RunSummary } from '../../generator/summary.ts';
import { ROOT_DIR, type Config } from '../../lib/config/index.ts';
import { shopEvent, type ShopEvent } from '../../lib/events/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestTopic, type TestTopic } from '../helpers/kafka.ts';
import { createTestShopDb, type TestShopDb } from '../helpers/shopdb.ts';

const WORLD = [
  '--from',
  '2024-03-01',
  '--to',
  '2024-03-21',
  '--customers',
  '80',
  '--products',
  '40',
  '--orders',
  '300',
  '--seed',
  '3',
  '--quiet',
];
const logger = createLogger('generator-test', 'warn');

interface Target {
  db: TestShopDb;
  topic: TestTopic;
  config: Config;
}

async function target(label: string): Promise<Target> {
  const db = await createTestShopDb(label, { withSchema: false });
  const topic = await createTestTopic(label, 3);
  return { db, topic, config: testConfig({ SHOP_DB_URL: db.url, KAFKA_TOPIC: topic.topic, KAFKA_PARTITIONS: '3', LOG_LEVEL: 'warn' }) };
}

function options(config: Config, argv: string[]): GenerateOptions {
  const parsed = parseGenerateArgs(argv, Date.now(), config.dataDir);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
}

async function dumpTables(url: string): Promise<Record<string, unknown[]>> {
  const connection = await mysql.createConnection({ uri: url, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  connection.on('error', () => undefined);
  try {
    const out: Record<string, unknown[]> = {};
    for (const table of ['customers', 'products', 'inventory', 'orders', 'order_items', 'payments', 'restocks']) {
      const [rows] = await connection.query(`SELECT * FROM \`${table}\` ORDER BY 1`);
      out[table] = rows as unknown[];
    }
    return out;
  } finally {
    await connection.end();
  }
}

/** Every message of a topic, per key in partition order. */
async function readTopic(brokers: string[], topic: string, expected: number): Promise<Map<string, string[]>> {
  const kafka = new Kafka({ clientId: 'generator-test', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 200 });
  consumer.on(consumer.events.CRASH, () => undefined);
  const byKey = new Map<string, string[]>();
  let count = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${count} of ${expected} messages`)), 90_000);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              const key = m.key!.toString();
              byKey.set(key, [...(byKey.get(key) ?? []), m.value!.toString()]);
              count++;
            }
            if (count >= expected) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return byKey;
}

let a: Target;
let b: Target;
let summaryA: RunSummary;
let summaryB: RunSummary;
let tablesA: Record<string, unknown[]>;
let streamA: Map<string, string[]>;

beforeAll(async () => {
  [a, b] = await Promise.all([target('gen_a'), target('gen_b')]);
  summaryA = await runGenerate(options(a.config, WORLD), a.config, logger);
  summaryB = await runGenerate(options(b.config, WORLD), b.config, logger);
  tablesA = await dumpTables(a.db.url);
  streamA = await readTopic(a.topic.brokers, a.topic.topic, summaryA.eventsTotal);
});

afterAll(async () => {
  for (const t of [a, b]) {
    if (!t) continue;
    await t.db.drop();
    await t.topic.delete();
  }
});

describe('backfill into MariaDB and Kafka', () => {
  it('writes the requested world and reports it', () => {
    expect(summaryA.rows.inserted.customers).toBe(80);
    expect(summaryA.rows.inserted.orders).toBe(300);
    expect(tablesA.customers).toHaveLength(80);
    expect(tablesA.orders).toHaveLength(300);
    expect(tablesA.products).toHaveLength(40);
    expect([...streamA.values()].reduce((n, v) => n + v.length, 0)).toBe(summaryA.eventsTotal);
  });

  it('is deterministic: a second run with the same seed gives identical tables and identical per-session streams', async () => {
    expect(summaryB.eventsTotal).toBe(summaryA.eventsTotal);
    expect(await dumpTables(b.db.url)).toEqual(tablesA);
    const streamB = await readTopic(b.topic.brokers, b.topic.topic, summaryB.eventsTotal);
    expect(streamB).toEqual(streamA);
  });

  it('every order_placed event matches an order with the same customer, total, session and time; every order has its funnel', () => {
    const orders = new Map((tablesA.orders as Record<string, string>[]).map((o) => [Number(o.order_id), o]));
    const sessions = new Map<string, ShopEvent[]>();
    for (const [key, values] of streamA)
      sessions.set(
        key,
        values.map((v) => shopEvent.parse(JSON.parse(v))),
      );
    let placed = 0;
    for (const events of sessions.values()) {
      for (const e of events) {
        if (e.event_type !== 'order_placed') continue;
        placed++;
        const order = orders.get(e.order_id)!;
        expect(order, `order ${e.order_id}`).toBeDefined();
        expect(Number(order.customer_id)).toBe(e.customer_id);
        expect(Math.round(Number(order.total_amount) * 100)).toBe(Math.round(e.order_total * 100));
        expect(order.session_id).toBe(e.session_id);
        expect(`${order.placed_at.replace(' ', 'T')}Z`).toBe(e.event_time);
        const types = events.map((x) => x.event_type);
        const at = types.indexOf('order_placed');
        const checkout = types.lastIndexOf('checkout_started', at);
        const add = types.lastIndexOf('add_to_cart', checkout);
        const view = types.lastIndexOf('product_view', add);
        expect(view).toBeGreaterThan(-1);
        expect(view < add && add < checkout && checkout < at).toBe(true);
      }
    }
    expect(placed).toBe(orders.size);
  });

  it('totals add up to the cent in MariaDB and foreign keys hold', async () => {
    const connection = await mysql.createConnection({ uri: a.db.url });
    connection.on('error', () => undefined);
    try {
      const [[bad]] = await connection.query<mysql.RowDataPacket[]>(`
        SELECT
          (SELECT COUNT(*) FROM orders o WHERE o.subtotal_amount <> (SELECT SUM(line_total) FROM order_items i WHERE i.order_id = o.order_id)) AS bad_subtotal,
          (SELECT COUNT(*) FROM orders WHERE total_amount <> subtotal_amount - discount_amount + shipping_amount + tax_amount) AS bad_total,
          (SELECT COUNT(*) FROM order_items WHERE line_total <> quantity * unit_price - discount_amount) AS bad_line,
          (SELECT COUNT(*) FROM orders o LEFT JOIN customers c USING (customer_id) WHERE c.customer_id IS NULL) AS orphan_orders,
          (SELECT COUNT(*) FROM orders WHERE updated_at < created_at) AS bad_updated`);
      expect(bad).toEqual({ bad_subtotal: 0, bad_total: 0, bad_line: 0, orphan_orders: 0, bad_updated: 0 });
    } finally {
      await connection.end();
    }
  });

  it('refuses a second backfill over existing data, naming --reset and --live', async () => {
    await expect(runGenerate(options(a.config, WORLD), a.config, logger)).rejects.toThrow(/--reset.*--live/);
  });
});

describe('CLI', () => {
  it('bad flags exit with status 2 and a clear message, before anything is written', async () => {
    const db = await createTestShopDb('gen_flags', { withSchema: false });
    try {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT_DIR, 'generator', 'cli.ts'), '--from', '2024-05-01', '--to', '2024-04-01'],
        {
          env: { ...process.env, SHOP_DB_URL: db.url, KAFKA_TOPIC: 'never.created' },
          encoding: 'utf8',
          cwd: ROOT_DIR,
        },
      );
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('--from 2024-05-01 is after --to 2024-04-01');
      const connection = await mysql.createConnection({ uri: db.url });
      connection.on('error', () => undefined);
      const [tables] = await connection.query('SHOW TABLES');
      await connection.end();
      expect(tables).toEqual([]);
    } finally {
      await db.drop();
    }
  });
});

describe('--live', () => {
  it('continues from MariaDB: new orders get the next ids, with their sessions on Kafka', async () => {
    const before = Math.max(...(tablesA.orders as Record<string, string>[]).map((o) => Number(o.order_id)));
    const summary = await runGenerate(
      options(a.config, ['--live', '--rate', '1200', '--duration', '4', '--seed', '3', '--quiet']),
      a.config,
      logger,
    );
    expect(summary.mode).toBe('live');
    expect(summary.rows.inserted.orders).toBeGreaterThan(20);
    const after = await dumpTables(a.db.url);
    const fresh = (after.orders as Record<string, string>[]).filter((o) => Number(o.order_id) > before);
    expect(fresh).toHaveLength(summary.rows.inserted.orders);
    expect(Math.min(...fresh.map((o) => Number(o.order_id)))).toBe(before + 1);
    expect(after.customers.length).toBeGreaterThanOrEqual(80);
    expect(summary.events.order_placed).toBe(summary.rows.inserted.orders);
  });
});
