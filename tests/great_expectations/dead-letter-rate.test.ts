/**
 * The raw gate's clickstream dead-letter rate (great_expectations/gate/suites_raw.py), run as
 * GX runs it: the suite's own SQL with {batch} = raw.dead_letters, against Postgres. The events
 * it divides by come from the volume summary, not from raw's rows: counting raw by load time
 * read every event of a backfill on its day (21 s of the 10x 08:00 job). Pinned here: the rate
 * over yesterday and today (UTC) passes at 5% and fails above it, older loads do not count,
 * and the plan reads no partition of raw.shop_events.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { gateSql } from '../helpers/gate-sql.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';

let warehouse: TestWarehouse;
let client: pg.Client;
let rateSql: string;

/** `count` clean events from offset `first` on, loaded at `loadedAt` (an SQL expression). */
const events = (first: number, count: number, loadedAt: string) => `
insert into raw.shop_events (topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time, payload, _loaded_at)
select 'shop.events', 0, g, 's' || g, 'e-' || g, 'page_view', ${loadedAt}, jsonb_build_object('session_id', 's' || g), ${loadedAt}
from generate_series(${first}, ${first + count - 1}) as g`;

/** `count` dead letters at the next free offsets of partition 1, loaded at `loadedAt`. */
let nextDeadOffset = 0;
const deadLetters = (count: number, loadedAt: string) => {
  const first = nextDeadOffset;
  nextDeadOffset += count;
  return `
insert into raw.dead_letters (source, topic, kafka_partition, kafka_offset, payload, error_code, reason, _loaded_at)
select 'kafka', 'shop.events', 1, g, convert_to('not json', 'UTF8'), 'invalid_json', 'test', ${loadedAt}
from generate_series(${first}, ${first + count - 1}) as g`;
};

/** The check's unexpected rows (none: it passes). */
async function check(): Promise<{ recent_dead_letters: string; recent_events: string; rate: string }[]> {
  const { rows } = await client.query(rateSql.replaceAll('{batch}', 'raw.dead_letters'));
  return rows as { recent_dead_letters: string; recent_events: string; rate: string }[];
}

beforeAll(async () => {
  warehouse = await createTestWarehouse('gate-dead-letter-rate');
  client = new pg.Client({ connectionString: warehouse.adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  rateSql = gateSql(warehouse.config, 'suites_raw', 'CLICKSTREAM_DEAD_LETTER_RATE_QUERY');
  expect(rateSql).toContain('{batch}');
  // Yesterday and today (UTC) hold 1,000 events; three days ago 10,000, and 1,000 dead letters.
  await client.query(`select raw.create_shop_events_partition(current_date - 3)`);
  await client.query(`select raw.create_shop_events_partition(current_date - 1)`);
  await client.query(events(0, 10_000, `now() - interval '3 days'`));
  await client.query(events(10_000, 400, `date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' - interval '1 hour'`));
  await client.query(events(10_400, 600, 'now()'));
  await client.query(deadLetters(1_000, `now() - interval '3 days'`));
  await client.query(`select ops.refresh_shop_events_volume(null)`);
});
afterAll(async () => {
  await client?.end();
  await warehouse?.drop();
});

describe('clickstream dead-letter rate', () => {
  it('passes at 5% of the messages landed since the start of yesterday, older dead letters not counted', async () => {
    await client.query(deadLetters(50, 'now()'));
    expect(await check()).toEqual([]);
  });

  it('fails above 5%, naming the counts and the rate', async () => {
    await client.query(deadLetters(1, 'now()'));
    expect(await check()).toEqual([{ recent_dead_letters: '51', recent_events: '1000', rate: '0.0510' }]);
  });

  it('reads the volume summary, no partition of raw.shop_events', async () => {
    const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(
      `explain (format json) ${rateSql.replaceAll('{batch}', 'raw.dead_letters')}`,
    );
    const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
    expect(plan).toContain('shop_events_daily_volume');
    expect(plan).not.toMatch(/"Relation Name":"shop_events(_\d{8}|_default)?"/);
  });
});
