/**
 * A backfill must be processed once. The clickstream-fed incremental models used to find new
 * rows by load time minus a lookback: a history backfilled within one minute then counted as
 * new for every micro-batch of the next hour, and at 10x one cycle re-inserted every session.
 * They now read the Kafka offsets landed since their own high-water mark
 * (dbt/macros/clickstream_batches.sql).
 *
 * Flow: land a few days (stamped as they arrived) and run the micro-batch; land a 30-day
 * backfill in one transaction (every row stamped with the same load time) and run it; land
 * two more days, a producer re-send and a late event in another transaction of the same
 * minute and run it. After each run: every model's new ranges held exactly the events staged
 * since the last run, fct_sessions and int_visitor_days inserted only the sessions and
 * visitor-days those events touch (dbt's run_results), and the ranges of each partition
 * follow each other with no gap or overlap. Finally the models equal a full refresh.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DBT_MICROBATCH_ARGS } from '../../scheduler/jobs/dbt-args.ts';
import { createTestWarehouse, type TestWarehouse } from '../helpers/warehouse.ts';
import { dbtRunner, withPg } from './helpers.ts';
import { loadWorld, type LoadState } from './fixtures/load.ts';
import { FixtureWorld } from './fixtures/world.ts';

/** The scheduler's micro-batch, with its test window. */
const MICROBATCH = DBT_MICROBATCH_ARGS;
const MODELS = ['int_visitor_days', 'fct_sessions', 'active_users_daily', 'conversion_funnel_daily'] as const;
/** Counts raw rows (not staged events) by the same ledger: its ranges are raw offsets, event_count null. */
const RAW_COUNTER = 'int_raw_loads_daily';
const LEDGER_MODELS = [...MODELS, RAW_COUNTER] as const;
const RELATIONS: Record<(typeof LEDGER_MODELS)[number], string> = {
  int_visitor_days: 'intermediate.int_visitor_days',
  fct_sessions: 'marts.fct_sessions',
  active_users_daily: 'marts.active_users_daily',
  conversion_funnel_daily: 'marts.conversion_funnel_daily',
  int_raw_loads_daily: 'intermediate.int_raw_loads_daily',
};
/** Columns stamped by the build that wrote a row, not derived from the data alone. */
const IGNORED: Partial<Record<(typeof LEDGER_MODELS)[number], string[]>> = { active_users_daily: ['clickstream_loaded_at'] };

interface LedgerRow {
  model_name: string;
  topic: string;
  kafka_partition: number;
  after_offset: string;
  up_to_offset: string;
  event_count: string | null;
}

const ledgerKey = (r: LedgerRow) => `${r.model_name}/${r.topic}/${r.kafka_partition}/${r.up_to_offset}`;

async function ledger(client: pg.Client): Promise<LedgerRow[]> {
  const { rows } = await client.query<LedgerRow>(
    `select model_name, topic, kafka_partition, after_offset, up_to_offset, event_count
     from intermediate.clickstream_batches order by model_name, topic, kafka_partition, up_to_offset`,
  );
  return rows;
}

/** Raw rows whose offset is at or past the load state's offset of their partition: the rows of the next load. */
function newRawRowsSql(before: LoadState): string {
  const bounds = before.offsets.map((offset, partition) => `(${partition}, ${offset})`).join(', ');
  return `select landed.* from raw.shop_events as landed
          inner join (values ${bounds}) as loaded (kafka_partition, first_offset)
            on landed.kafka_partition = loaded.kafka_partition and landed.kafka_offset >= loaded.first_offset`;
}

/** Staged events whose offset is at or past the load state's offset of their partition: the rows of the next load. */
function newEventsSql(before: LoadState): string {
  const bounds = before.offsets.map((offset, partition) => `(${partition}, ${offset})`).join(', ');
  return `select staged.* from staging.stg_clickstream__events as staged
          inner join (values ${bounds}) as loaded (kafka_partition, first_offset)
            on staged.kafka_partition = loaded.kafka_partition and staged.kafka_offset >= loaded.first_offset`;
}

describe('clickstream batches: each landed event is processed once, whatever its load time', () => {
  let warehouse: TestWarehouse;
  let runner: ReturnType<typeof dbtRunner>;

  beforeAll(async () => {
    warehouse = await createTestWarehouse('dbt_clickstream_batches');
    runner = dbtRunner(warehouse.config);
  });

  afterAll(async () => {
    runner?.cleanup();
    await warehouse?.drop();
  });

  /** Rows each model's main statement wrote in the last dbt run. */
  function rowsAffected(): Record<string, number> {
    const results = JSON.parse(readFileSync(join(runner.targetPath, 'run_results.json'), 'utf8')) as {
      results: Array<{ unique_id: string; status: string; adapter_response?: { rows_affected?: number } }>;
    };
    const out: Record<string, number> = {};
    for (const r of results.results) {
      const name = r.unique_id.split('.').pop() as string;
      if (r.unique_id.startsWith('model.') && (MODELS as readonly string[]).includes(name)) {
        expect(r.status, name).toBe('success');
        out[name] = r.adapter_response?.rows_affected ?? -1;
      }
    }
    return out;
  }

  /** Runs the micro-batch after a load and checks what it read and wrote against what was landed. */
  async function microBatchAfter(before: LoadState, label: string) {
    const { previous, staged } = await withPg(warehouse.adminUrl, async (client) => ({
      previous: await ledger(client),
      staged: Number((await client.query<{ n: string }>('select count(*) as n from staging.stg_clickstream__events')).rows[0]?.n),
    }));
    await runner.dbt(MICROBATCH);
    const written = rowsAffected();
    await withPg(warehouse.adminUrl, async (client) => {
      const count = async (sql: string) =>
        Number((await client.query<{ n: string }>(`select count(*) as n from (${sql}) as d`)).rows[0]?.n);
      const newEvents = newEventsSql(before);
      const stagedNow = await count('select 1 from staging.stg_clickstream__events');
      const landed = await count(newEvents);
      // The load's events are all staged, nothing else is new.
      expect(stagedNow - staged, `${label}: staged events`).toBe(landed);
      expect(landed, `${label}: the load staged events`).toBeGreaterThan(0);

      const seen = new Set(previous.map(ledgerKey));
      const added = (await ledger(client)).filter((r) => !seen.has(ledgerKey(r)));
      for (const model of MODELS) {
        const ranges = added.filter((r) => r.model_name === model);
        const read = ranges.reduce((sum, r) => sum + Number(r.event_count), 0);
        expect({ label, model, eventsRead: read }).toEqual({ label, model, eventsRead: landed });
      }

      // The raw counter's new ranges hold exactly the raw rows of the load (re-sends included),
      // and its days add up to raw: each row counted once, none again after the backfill.
      const rawRanges = added.filter((r) => r.model_name === RAW_COUNTER);
      expect(rawRanges.length, `${label}: ${RAW_COUNTER} recorded ranges`).toBeGreaterThan(0);
      const rangeList = rawRanges.map((r) => `('${r.topic}', ${r.kafka_partition}, ${r.after_offset}, ${r.up_to_offset})`).join(', ');
      const inRanges = await count(
        `select 1 from raw.shop_events as landed
         inner join (values ${rangeList}) as batch (topic, kafka_partition, after_offset, up_to_offset)
           on landed.topic = batch.topic and landed.kafka_partition = batch.kafka_partition
          and landed.kafka_offset > batch.after_offset::bigint and landed.kafka_offset <= batch.up_to_offset::bigint`,
      );
      expect({ label, rawRowsInRanges: inRanges }).toEqual({ label, rawRowsInRanges: await count(newRawRowsSql(before)) });
      const totals = await client.query<{ counted: string; raw: string }>(
        `select (select sum(row_count) from intermediate.int_raw_loads_daily where source_table = 'raw.shop_events') as counted,
                (select count(*) from raw.shop_events) as raw`,
      );
      expect({ label, counted: totals.rows[0]?.counted }).toEqual({ label, counted: totals.rows[0]?.raw });

      // What the two first-level models inserted: the sessions and visitor-days the new events touch.
      const sessionsTouched = await count(`select distinct session_id from (${newEvents}) as e`);
      const pairsNew = await count(
        `select distinct
           case when e.customer_id is not null then 'customer:' || e.customer_id else 'anonymous:' || e.anonymous_id end,
           (e.event_at at time zone 'UTC')::date
         from (${newEvents}) as e
         except
         select
           case when o.customer_id is not null then 'customer:' || o.customer_id else 'anonymous:' || o.anonymous_id end,
           (o.event_at at time zone 'UTC')::date
         from staging.stg_clickstream__events as o
         where not exists (select 1 from (${newEvents}) as n where n.event_id = o.event_id)`,
      );
      expect({ label, fct_sessions: written.fct_sessions, int_visitor_days: written.int_visitor_days }).toEqual({
        label,
        fct_sessions: sessionsTouched,
        int_visitor_days: pairsNew,
      });
    });
  }

  it('a backfill stamped in one minute, then more rows in the same minute: each event read once, result = full refresh', async () => {
    const world = new FixtureWorld({ seed: 29, days: 60, customers: 60, products: 12, ordersPerDay: 5 }).seed().advance(5);
    let state = await loadWorld(warehouse.adminUrl, world, undefined, { loadDelayMs: 60_000 });
    await runner.dbt(MICROBATCH);

    // The backfill: 30 days in one transaction, so every row carries the same _loaded_at.
    world.advance(30);
    let before = state;
    state = await loadWorld(warehouse.adminUrl, world, state);
    await withPg(warehouse.adminUrl, async (client) => {
      const bounds = before.offsets.map((offset, partition) => `(${partition}, ${offset})`).join(', ');
      const { rows } = await client.query<{ stamps: string; rows: string }>(
        `select count(distinct landed._loaded_at) as stamps, count(*) as rows from raw.shop_events as landed
         inner join (values ${bounds}) as loaded (kafka_partition, first_offset)
           on landed.kafka_partition = loaded.kafka_partition and landed.kafka_offset >= loaded.first_offset`,
      );
      expect(Number(rows[0]?.rows)).toBeGreaterThan(500);
      expect(Number(rows[0]?.stamps)).toBe(1);
    });
    await microBatchAfter(before, 'after the backfill');

    // Within the same minute: two more days, a re-send of a backfilled event, a late event.
    world.advance(2);
    world.resendEvent(200);
    expect(world.lateEvent(12)).toBeDefined();
    before = state;
    state = await loadWorld(warehouse.adminUrl, world, state);
    await microBatchAfter(before, 'steady state');

    // A cycle with nothing new reads nothing and records nothing (and does not fail).
    const beforeIdle = await withPg(warehouse.adminUrl, ledger);
    await runner.dbt(MICROBATCH);
    expect(await withPg(warehouse.adminUrl, ledger)).toEqual(beforeIdle);

    // No range overlaps or leaves a gap: per model and partition each starts where the last ended.
    await withPg(warehouse.adminUrl, async (client) => {
      const rows = await ledger(client);
      const last = new Map<string, string>();
      for (const r of rows) {
        const key = `${r.model_name}/${r.topic}/${r.kafka_partition}`;
        expect({ key, after: r.after_offset }).toEqual({ key, after: last.get(key) ?? '-1' });
        last.set(key, r.up_to_offset);
      }
      expect(new Set(rows.map((r) => r.model_name))).toEqual(new Set(LEDGER_MODELS));
    });

    const columns = new Map<string, string>();
    await withPg(warehouse.adminUrl, async (client) => {
      await client.query('create schema batch_result');
      for (const model of LEDGER_MODELS) {
        const [schema, table] = RELATIONS[model].split('.') as [string, string];
        const { rows } = await client.query<{ column_name: string }>(
          `select column_name from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`,
          [schema, table],
        );
        const kept = rows.map((r) => r.column_name).filter((c) => !(IGNORED[model] ?? []).includes(c));
        columns.set(model, kept.map((c) => `"${c}"`).join(', '));
        await client.query(`create table batch_result.${table} as select * from ${RELATIONS[model]}`);
      }
    });
    await runner.dbt(['run', '--full-refresh', '--select', ...LEDGER_MODELS]);
    await withPg(warehouse.adminUrl, async (client) => {
      for (const model of LEDGER_MODELS) {
        const table = RELATIONS[model].split('.')[1] as string;
        const list = columns.get(model) as string;
        const count = async (sql: string) =>
          Number((await client.query<{ n: string }>(`select count(*) as n from (${sql}) as d`)).rows[0]?.n);
        const incremental = `select ${list} from batch_result.${table}`;
        const full = `select ${list} from ${RELATIONS[model]}`;
        expect({
          model,
          rows: (await count(full)) > 0,
          onlyIncremental: await count(`${incremental} except all ${full}`),
          onlyFullRefresh: await count(`${full} except all ${incremental}`),
        }).toEqual({ model, rows: true, onlyIncremental: 0, onlyFullRefresh: 0 });
      }
      // A full refresh replaces a model's ranges with one, from the start to what it read.
      const { rows } = await client.query<{ model_name: string; ranges: string }>(
        `select model_name, count(*) filter (where after_offset <> -1) as ranges from intermediate.clickstream_batches group by 1`,
      );
      for (const r of rows) expect({ model: r.model_name, ranges: Number(r.ranges) }).toEqual({ model: r.model_name, ranges: 0 });
    });

    // A warehouse upgraded from before the raw counter kept ranges: its first incremental run
    // counts raw once more from the start and replaces its days, it does not add to them.
    await withPg(warehouse.adminUrl, (client) =>
      client.query(`delete from intermediate.clickstream_batches where model_name = '${RAW_COUNTER}'`),
    );
    await runner.dbt(['run', '--select', RAW_COUNTER]);
    await withPg(warehouse.adminUrl, async (client) => {
      const { rows } = await client.query<{ counted: string; raw: string; from_start: boolean }>(
        `select (select sum(row_count) from intermediate.int_raw_loads_daily where source_table = 'raw.shop_events') as counted,
                (select count(*) from raw.shop_events) as raw,
                (select bool_and(after_offset = -1) from intermediate.clickstream_batches where model_name = '${RAW_COUNTER}') as from_start`,
      );
      expect(rows[0]).toEqual({ counted: rows[0]?.raw, raw: rows[0]?.raw, from_start: true });
    });
  }, 900_000);
});
