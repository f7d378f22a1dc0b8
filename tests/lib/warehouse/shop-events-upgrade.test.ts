/**
 * Upgrading a warehouse whose raw.shop_events holds jsonb payloads (before migration 0150) to
 * the typed, day-partitioned table: every row survives with its identity and load time; a row
 * whose payload the columns hold exactly is typed (payload dropped), any other keeps its
 * payload and leaves the columns null; each load day gets its partition. Then the partition
 * upkeep the ingestor relies on: ingest_writer may create days ahead (and nothing else), a
 * row for a day with no partition lands in the default one, and creating that day later moves
 * it into its partition.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { roleUrl, type Config } from '../../../lib/config/index.ts';
import { EVENT_BODY_COLUMNS } from '../../../lib/events/columns.ts';
import { migrate } from '../../../lib/warehouse/migrate.ts';
import { testConfig, uniqueSuffix } from '../../helpers/config.ts';
import { testEndpoints } from '../../helpers/services.ts';
import { databaseUrl } from '../../helpers/warehouse.ts';

const database = `t_shop_events_upgrade_${uniqueSuffix()}`;
const adminUrl = databaseUrl(testEndpoints().warehouseAdminUrl, database);
let config: Config;

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const valid = {
  schema_version: 1,
  event_id: '00000000-0000-4000-8000-000000000001',
  event_time: '2024-03-01T10:00:00.000Z',
  session_id: 's1',
  customer_id: 42,
  anonymous_id: 'a1',
  device: 'mobile',
  country_code: 'DE',
  page_url: 'https://shop.example/p/1',
  referrer: null,
  event_type: 'add_to_cart',
  product_id: 7,
  price: 19.5,
  quantity: 2,
};
const withId = (n: number, change: Record<string, unknown> = {}) => ({
  ...valid,
  event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  ...change,
});

/** Old rows: offset -> payload (as JSON text) and load time; event id/type/time as the old ingestor extracted them. */
const OLD_ROWS: { offset: number; payload: string; loadedAt: string; typed: boolean; why: string }[] = [
  { offset: 0, payload: JSON.stringify(withId(0)), loadedAt: '2024-03-01T10:00:05Z', typed: true, why: 'a valid event' },
  {
    offset: 1,
    payload: JSON.stringify(
      withId(1, {
        event_type: 'order_placed',
        order_id: 9,
        order_total: 1234.56,
        item_count: 3,
        product_id: undefined,
        price: undefined,
        quantity: undefined,
      }),
    ),
    loadedAt: '2024-03-02T23:59:59Z',
    typed: true,
    why: 'another type, another day',
  },
  {
    offset: 2,
    payload: JSON.stringify(withId(2)).replace('"quantity":2', '"quantity":2.0'),
    loadedAt: '2024-03-01T11:00:00Z',
    typed: false,
    why: 'an integer written 2.0',
  },
  {
    offset: 3,
    payload: JSON.stringify(withId(3, { price: 19.999 })),
    loadedAt: '2024-03-01T11:00:00Z',
    typed: false,
    why: 'money with 3 decimals',
  },
  {
    offset: 4,
    payload: JSON.stringify(withId(4, { coupon: 'X' })),
    loadedAt: '2024-03-01T11:00:00Z',
    typed: false,
    why: 'a field beyond the contract',
  },
  { offset: 5, payload: '[1, 2, 3]', loadedAt: '2024-03-01T11:00:00Z', typed: false, why: 'not an object' },
  {
    offset: 6,
    payload: JSON.stringify(withId(6, { session_id: 12 })),
    loadedAt: '2024-03-01T11:00:00Z',
    typed: false,
    why: 'a number in a text field',
  },
  {
    offset: 7,
    payload: JSON.stringify(withId(99)),
    loadedAt: '2024-03-01T11:00:00Z',
    typed: false,
    why: 'an event id that differs from the envelope',
  },
];

beforeAll(async () => {
  config = testConfig({ WAREHOUSE_URL: adminUrl });
  await migrate(config, { before: '0150' });
  await withClient(adminUrl, async (client) => {
    for (const row of OLD_ROWS) {
      await client.query(
        `insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload, kafka_timestamp, _loaded_at)
         values ('shop.events', 0, $1, 's1', $2, 'add_to_cart', '2024-03-01T10:00:00Z', $3::jsonb, '2024-03-01T10:00:01Z', $4)`,
        [row.offset, `00000000-0000-4000-8000-${String(row.offset).padStart(12, '0')}`, row.payload, row.loadedAt],
      );
    }
    // Offset 1 is an order_placed event: its envelope says so.
    await client.query(`update raw.shop_events set event_type = 'order_placed' where kafka_offset = 1`);
  });
  await migrate(config);
}, 120_000);

afterAll(async () => {
  await withClient(databaseUrl(testEndpoints().warehouseAdminUrl, 'postgres'), (client) =>
    client.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`),
  );
});

describe('migration 0150: raw.shop_events typed and partitioned', () => {
  it('keeps every old row with its identity and load time, typing exactly the ones its columns hold', async () => {
    const rows = await withClient(adminUrl, (client) =>
      client.query<{ kafka_offset: string; payload: unknown; landed: Record<string, unknown>; partition: string }>(
        `select kafka_offset, payload, to_jsonb(e) as landed, tableoid::regclass::text as partition
         from raw.shop_events as e order by kafka_offset`,
      ),
    );
    expect(rows.rows.map((r) => Number(r.kafka_offset))).toEqual(OLD_ROWS.map((r) => r.offset));
    for (const [i, old] of OLD_ROWS.entries()) {
      const row = rows.rows[i]!;
      expect(Date.parse(row.landed._loaded_at as string), old.why).toBe(Date.parse(old.loadedAt));
      expect(row.partition, old.why).toBe(`raw.shop_events_${old.loadedAt.slice(0, 10).replaceAll('-', '')}`);
      if (old.typed) {
        expect(row.payload, old.why).toBeNull();
        const sent = JSON.parse(old.payload) as Record<string, unknown>;
        for (const { name } of EVENT_BODY_COLUMNS) expect(row.landed[name] ?? null, `${old.why}: ${name}`).toEqual(sent[name] ?? null);
      } else {
        expect(row.payload, old.why).toEqual(JSON.parse(old.payload));
        for (const { name } of EVENT_BODY_COLUMNS) expect(row.landed[name], `${old.why}: ${name}`).toBeNull();
      }
    }
  });

  it('leaves ingest_writer appending and reading only, and able to create the coming days', async () => {
    await withClient(roleUrl(config, 'ingest_writer'), async (client) => {
      const created = await client.query<{ n: number }>('select raw.ensure_shop_events_partitions(2) as n');
      expect(created.rows[0]!.n).toBe(0); // the migration made them already
      await expect(client.query('delete from raw.shop_events')).rejects.toMatchObject({ code: '42501' });
      await expect(client.query(`select raw.create_shop_events_partition('2030-01-01')`)).rejects.toMatchObject({ code: '42501' });
      await expect(client.query('select raw.ensure_shop_events_partitions(400)')).rejects.toMatchObject({ code: '22023' });
    });
    const days = await withClient(adminUrl, (client) =>
      client.query<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
         where i.inhparent = 'raw.shop_events'::regclass order by 1`,
      ),
    );
    const today = new Date();
    const day = (offset: number) => new Date(today.getTime() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
    expect(days.rows.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'shop_events_default',
        'shop_events_20240301',
        'shop_events_20240302',
        ...[-1, 0, 1, 2].map((o) => `shop_events_${day(o)}`),
      ]),
    );
  });

  it('lands a row of a day with no partition in the default one, and moves it when that day is created', async () => {
    const where = async () =>
      withClient(adminUrl, async (client) => {
        const found = await client.query<{ partition: string }>(
          `select tableoid::regclass::text as partition from raw.shop_events where kafka_offset = 1000`,
        );
        return found.rows.map((r) => r.partition);
      });
    await withClient(roleUrl(config, 'ingest_writer'), (client) =>
      client.query(
        `insert into raw.shop_events (topic, kafka_partition, kafka_offset, event_id, event_type, event_time, _loaded_at, session_id, anonymous_id, device, country_code, schema_version)
         values ('shop.events', 0, 1000, 'e-1000', 'page_view', '2031-05-05T00:00:00Z', '2031-05-05T12:00:00Z', 's', 'a', 'mobile', 'DE', 1)`,
      ),
    );
    expect(await where()).toEqual(['raw.shop_events_default']);
    await withClient(adminUrl, (client) => client.query(`select raw.create_shop_events_partition('2031-05-05')`));
    expect(await where()).toEqual(['raw.shop_events_20310505']);
  });
});
