/**
 * raw.shop_events as migrated against the event contract's column list (lib/events/columns.ts):
 * a field added to the schema, or a column type changed in a migration, fails here until the
 * table, the list and the ingestor's COPY lines (ingest/kafka/decode.ts) agree again.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EVENT_COLUMNS } from '../../../ingest/kafka/decode.ts';
import { EVENT_BODY_COLUMNS, EVENT_FIELD_COLUMNS } from '../../../lib/events/columns.ts';
import { createTestWarehouse, type TestWarehouse } from '../../helpers/warehouse.ts';

let warehouse: TestWarehouse;
let columns: Map<string, { type: string; notNull: boolean }>;

beforeAll(async () => {
  warehouse = await createTestWarehouse('event-columns');
  const client = new pg.Client({ connectionString: warehouse.adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const rows = await client.query<{ name: string; type: string; not_null: boolean }>(
      `select attname as name, format_type(atttypid, atttypmod) as type, attnotnull as not_null
       from pg_attribute where attrelid = 'raw.shop_events'::regclass and attnum > 0 and not attisdropped`,
    );
    columns = new Map(rows.rows.map((r) => [r.name, { type: r.type, notNull: r.not_null }]));
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await warehouse?.drop();
});

describe('raw.shop_events and the event contract', () => {
  it('has a column of the contract type for every field an event can carry', () => {
    const drift = EVENT_FIELD_COLUMNS.filter((c) => columns.get(c.name)?.type !== c.pgType).map(
      (c) => `${c.name}: contract ${c.pgType}, table ${columns.get(c.name)?.type ?? 'missing'}`,
    );
    expect(drift, 'add a migration (or fix lib/events/columns.ts) so the two agree').toEqual([]);
  });

  it('leaves the body columns nullable (a type carries only its own fields) and the envelope not null', () => {
    for (const c of EVENT_BODY_COLUMNS) expect(columns.get(c.name)?.notNull, c.name).toBe(false);
    for (const name of ['topic', 'kafka_partition', 'kafka_offset', 'event_id', 'event_type', 'event_time', '_loaded_at'])
      expect(columns.get(name)?.notNull, name).toBe(true);
  });

  it("receives every column of the ingestor's COPY lines", () => {
    expect(EVENT_COLUMNS.filter((name) => !columns.has(name))).toEqual([]);
    expect(new Set(EVENT_COLUMNS).size).toBe(EVENT_COLUMNS.length);
  });
});
