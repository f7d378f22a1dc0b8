/**
 * The gate follows the sources a shop has (great_expectations/gate/sources.py). It used to
 * require clickstream events on every run, so a shop feeding only its database never got a
 * report. Now a source is checked when GATE_SOURCES names it or when it has ever landed:
 * a database-only shop and a clickstream-only shop pass on good data, a source that had data
 * and went silent still fails, and a gate with no source at all fails rather than vouching
 * for nothing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GATE_SOURCE_NAMES, type Config } from '../../lib/config/index.ts';
import { runGate } from '../../great_expectations/run.ts';
import { ensureShopTypedTables } from '../helpers/shop-ddl.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { createMartsFixture } from '../report/fixtures/marts.ts';

const outDir = mkdtempSync(join(tmpdir(), 'shopflow-gate-sources-'));
const GX_TIMEOUT = { timeout: 600_000 };

// 20 days of orders (24 a day) in the database's typed change log, loaded now.
const DATABASE_ROWS = `
insert into raw_shop.orders (operation, source_committed_at, _key, order_id, total_amount, placed_at)
select 'snapshot', now(), jsonb_build_object('order_id', g)::text, g, 42.5, timestamp '2025-06-01' + g * interval '1 hour'
from generate_series(1, 480) as g;`;

// 20 days of clickstream (120 events a day), loaded now.
const CLICKSTREAM_ROWS = `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload)
select 'shop.events', g % 3, g, 's' || (g / 6), gen_random_uuid()::text,
       (array['page_view', 'product_view', 'add_to_cart', 'checkout_started', 'order_placed'])[1 + g % 5],
       timestamptz '2025-06-01 00:00:00+00' + g * interval '12 minutes',
       jsonb_build_object('session_id', 's' || (g / 6), 'price', 19.99, 'quantity', 1 + g % 3)
from generate_series(0, 2399) as g;`;

let databaseShop: TestWarehouse;
let clickstreamShop: TestWarehouse;
const admins: pg.Client[] = [];

async function adminOf(warehouse: TestWarehouse): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: warehouse.adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  admins.push(client);
  return client;
}

const withSources = (config: Config, sources: Config['GATE_SOURCES']): Config => ({ ...config, GATE_SOURCES: sources });

beforeAll(async () => {
  databaseShop = await createTestWarehouse('gate-db-only');
  clickstreamShop = await createTestWarehouse('gate-clicks-only');
  await (await adminOf(clickstreamShop)).query(CLICKSTREAM_ROWS);
});
afterAll(async () => {
  for (const client of admins) await client.end();
  await databaseShop?.drop();
  await clickstreamShop?.drop();
});

describe('raw gate and the sources a shop has', GX_TIMEOUT, () => {
  it('fails when no source is configured and none has ever landed', async () => {
    const summary = await runGate(withSources(databaseShop.config, []), 'raw', { outDir });
    expect(summary.success).toBe(false);
    expect(summary.failures.map((f) => f.expectation)).toEqual([
      'sources: at least one source is configured (GATE_SOURCES) or has landed data',
    ]);
    expect(summary.sources).toEqual(GATE_SOURCE_NAMES.map((source) => ({ source, configured: false, landed: false, checked: false })));
  });

  it('passes a database-only shop with good data, and says the clickstream was not checked', async () => {
    const databaseAdmin = await adminOf(databaseShop);
    await ensureShopTypedTables(databaseAdmin, ['orders']);
    await databaseAdmin.query(DATABASE_ROWS);
    const summary = await runGate(withSources(databaseShop.config, ['database']), 'raw', { outDir });
    expect(summary.failures).toEqual([]);
    expect(summary.success).toBe(true);
    expect(summary.sources).toEqual([
      { source: 'database', configured: true, landed: true, checked: true },
      { source: 'clickstream', configured: false, landed: false, checked: false },
      { source: 'files', configured: false, landed: false, checked: false },
      { source: 'api', configured: false, landed: false, checked: false },
    ]);
    const written = JSON.parse(await readFile(summary.summaryPath, 'utf8')) as { validations: { suite: string; skipped?: boolean }[] };
    expect(written.validations.find((v) => v.suite === 'raw_shop_events')).toMatchObject({ skipped: true });
    expect(written.validations.find((v) => v.suite === 'raw_shop_orders')?.skipped).toBeUndefined();
  });

  it('passes a clickstream-only shop with good data', async () => {
    const summary = await runGate(withSources(clickstreamShop.config, ['clickstream']), 'raw', { outDir });
    expect(summary.failures).toEqual([]);
    expect(summary.success).toBe(true);
    expect(summary.sources?.find((s) => s.source === 'database')).toEqual({
      source: 'database',
      configured: false,
      landed: false,
      checked: false,
    });
  });

  it('still fails a source that had data and went silent, even when the configuration leaves it out', async () => {
    await (await adminOf(databaseShop)).query(`update raw_shop.orders set _loaded_at = now() - interval '3 days'`);
    const summary = await runGate(withSources(databaseShop.config, ['clickstream']), 'raw', { outDir });
    expect(summary.success).toBe(false);
    expect(summary.sources?.find((s) => s.source === 'database')).toEqual({
      source: 'database',
      configured: false,
      landed: true,
      checked: true,
    });
    expect(summary.failures.map((f) => f.expectation).sort()).toEqual([
      'timeliness: newest change landed within the last 24 hours',
      // Configured but never landed: the clickstream the configuration promised is missing.
      'timeliness: newest event landed within the last 24 hours',
      'volume: raw.shop_events is not empty',
    ]);
  });
});

describe('raw gate and the files and API sources', GX_TIMEOUT, () => {
  it('checks files and API sources once they landed: a file mostly dead-lettered and an API silent for two days fail, then pass', async () => {
    const admin = await adminOf(clickstreamShop);
    await admin.query(
      `insert into raw.file_manifest (source_name, file_name, version, size_bytes, content_sha256, rows_landed, rows_dead, layout)
       values ('prices', 'good.csv', 1, 100, repeat('a', 64), 100, 1, 'typed'), ('prices', 'broken.csv', 1, 50, repeat('b', 64), 10, 5, 'typed');
       insert into raw.api_records (source_name, record_key, updated_at, record, record_sha256, _loaded_at)
       select 'psp', jsonb_build_array(g)::text, timestamptz '2026-01-01' + g * interval '1 minute', jsonb_build_object('id', g),
              md5(g::text) || md5(g::text), now() - interval '2 days'
         from generate_series(1, 50) g;
       insert into ingest.api_cursors (source_name, cursor_value, cursor_at, records_landed, updated_at)
       values ('psp', '2026-01-01T00:50:00Z', '2026-01-01T00:50:00Z', 50, now() - interval '2 days')`,
    );
    const failing = await runGate(withSources(clickstreamShop.config, ['clickstream']), 'raw', { outDir });
    expect(failing.sources?.filter((s) => s.source === 'files' || s.source === 'api')).toEqual([
      { source: 'files', configured: false, landed: true, checked: true },
      { source: 'api', configured: false, landed: true, checked: true },
    ]);
    expect(failing.failures.map((f) => `${f.suite}: ${f.expectation}`).sort()).toEqual([
      "raw_api_records: timeliness: every API source's last pull landed within the last 24 hours",
      'raw_files: rejects: under 5% of the rows of each file landed in the last 24 hours were dead-lettered',
    ]);

    await admin.query(`delete from raw.file_manifest where file_name = 'broken.csv'; update ingest.api_cursors set updated_at = now()`);
    const passing = await runGate(withSources(clickstreamShop.config, ['clickstream', 'files', 'api']), 'raw', { outDir });
    expect(passing.failures).toEqual([]);
    expect(passing.success).toBe(true);
  });
});

describe('marts gate and the sources a shop has', GX_TIMEOUT, () => {
  it('skips the order facts of a clickstream-only shop (nothing landed from a database)', async () => {
    await createMartsFixture(clickstreamShop.adminUrl);
    const admin = await adminOf(clickstreamShop);
    await admin.query(
      `delete from marts.fct_orders; update marts.ops_source_freshness set row_count = 0 where source_table like 'raw#_shop.%' escape '#'`,
    );
    const summary = await runGate(withSources(clickstreamShop.config, ['clickstream']), 'marts', { outDir });
    expect(summary.sources?.find((s) => s.source === 'database')).toMatchObject({ landed: false, checked: false });
    // The fixture lacks some marts, so the gate fails elsewhere; but not for empty order facts.
    expect(summary.failures.filter((f) => f.suite === 'marts_fct_orders')).toEqual([]);

    const expectingDatabase = await runGate(withSources(clickstreamShop.config, ['database', 'clickstream']), 'marts', { outDir });
    expect(expectingDatabase.failures.filter((f) => f.suite === 'marts_fct_orders').map((f) => f.expectation)).toContain(
      'volume: fct_orders is not empty',
    );
  });
});
