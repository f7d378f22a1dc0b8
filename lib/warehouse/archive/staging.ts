/**
 * Staging follows raw retention. stg_clickstream__events is a typed copy of raw, one row per
 * event; when a load day of raw is archived, the rows staging kept from that day leave staging
 * as well, in the transaction that drops the day's raw partition, so the two never disagree
 * about what the warehouse holds. What staging still needs of those events is that they were
 * kept once: their event ids go to raw.shop_events_archived_keys (migration 0280) as
 * md5(event_id)::uuid with the load day, and the staging model's deduplication reads them, so
 * a producer re-send of an archived event is not admitted again.
 *
 * Two kinds of staged rows of the day stay (their keys are written all the same):
 * - the row holding the largest offset staging has of its topic and partition: staging and
 *   every incremental model downstream read "past the largest staged offset" of each
 *   partition (macros/clickstream_unstaged.sql, clickstream_batches.sql); removing it would
 *   move that mark back, or forget a quiet partition altogether and read its raw rows again;
 * - an event a staging reject shares its id with: ops_staging_rejects counts a reject as
 *   resolved by the staged copy of the same event_id, and the marts gate fails on an
 *   unresolved one.
 * Both are a handful of rows.
 *
 * A slice of a load day (its old events, archived ahead of the day: index.ts) leaves staging
 * the same way, narrowed to the slice's event times, and is recorded per slice.
 */
import type pg from 'pg';

/** The staging tables this step reads and changes (dbt's relations, built by the transformer role). */
const STAGED = 'staging.stg_clickstream__events';
const REJECTS = 'staging.stg_clickstream__event_rejects';

export interface StagedDayResult {
  /** Staged events of the day, whose keys were written. */
  staged: number;
  /** Staged rows removed (staged minus the rows that hold a partition's mark or resolve a reject). */
  removed: number;
}

/** A slice of a load day by event time: [eventsFrom, eventsBefore), eventsFrom null for unbounded. */
export interface StagedSlice {
  eventsFrom: string | null;
  eventsBefore: string;
}

/**
 * Moves the staged events of one archived load day (or of a slice of it) into the key table and
 * deletes their rows from staging. Runs inside the caller's transaction (the one that drops
 * the raw partition or rewrites it without the slice). Reads the day's rows by staging's index
 * on _loaded_at.
 */
export async function retireStagedDay(client: pg.ClientBase, day: string, slice?: StagedSlice): Promise<StagedDayResult> {
  const { rows: present } = await client.query<{ staged: boolean; rejects: boolean }>(
    `select to_regclass($1) is not null as staged, to_regclass($2) is not null as rejects`,
    [STAGED, REJECTS],
  );
  if (!present[0]!.staged) return { staged: 0, removed: 0 };
  const bounds =
    `staged._loaded_at >= $1::date::timestamp at time zone 'UTC' and staged._loaded_at < ($1::date + 1)::timestamp at time zone 'UTC'` +
    (slice ? ` and staged.event_at >= coalesce($2::timestamptz, '-infinity') and staged.event_at < $3::timestamptz` : '');
  const params = slice ? [day, slice.eventsFrom, slice.eventsBefore] : [day];
  // One read of the day's rows: the keys written and the count. A day archived again after a
  // rehydrate and a full refresh finds its keys already there (same day), hence do nothing.
  const { rows: counted } = await client.query<{ n: string }>(
    `with day_rows as (
         select staged.event_id from ${STAGED} as staged where ${bounds}
     ),
     written as (
         insert into raw.shop_events_archived_keys (event_key, load_day)
         -- In key order: the primary key's btree then fills page after page instead of at
         -- random (a backfill's slice writes millions of keys at once).
         select md5(day_rows.event_id)::uuid, $1::date from day_rows order by 1
         on conflict (event_key) do nothing
     )
     select count(*)::text as n from day_rows`,
    params,
  );
  const resolvesReject = present[0]!.rejects
    ? `and not exists (select 1 from ${REJECTS} as reject where reject.event_id = staged.event_id)`
    : '';
  const removed = await client.query(
    `with day_partitions as (
         select distinct staged.kafka_topic, staged.kafka_partition from ${STAGED} as staged where ${bounds}
     ),
     marks as (
         -- One backward probe of the offset index per partition.
         select day_partitions.kafka_topic, day_partitions.kafka_partition,
                (select max(mark.kafka_offset) from ${STAGED} as mark
                 where mark.kafka_topic = day_partitions.kafka_topic
                   and mark.kafka_partition = day_partitions.kafka_partition) as kafka_offset
         from day_partitions
     )
     delete from ${STAGED} as staged
     where ${bounds}
       -- NOT IN over the marks (a row per Kafka partition) is a hashed subplan probed per row.
       -- A NOT EXISTS let the planner hash the day's rows instead (a backfill's 23M: minutes
       -- of spilled batches, where this is one pass).
       and (staged.kafka_topic, staged.kafka_partition, staged.kafka_offset) not in (
           select marks.kafka_topic, marks.kafka_partition, marks.kafka_offset from marks
           where marks.kafka_offset is not null
       )
       ${resolvesReject}`,
    params,
  );
  const result = { staged: Number(counted[0]!.n), removed: removed.rowCount ?? 0 };
  if (slice) {
    await client.query(
      `insert into raw.shop_events_archived_slices (load_day, events_from, events_before, staged_events, removed_events)
       values ($1::date, $2::timestamptz, $3::timestamptz, $4, $5)
       on conflict (load_day, events_before) do update
       set events_from = excluded.events_from, staged_events = excluded.staged_events,
           removed_events = excluded.removed_events, archived_at = now()`,
      [day, slice.eventsFrom, slice.eventsBefore, result.staged, result.removed],
    );
    return result;
  }
  await client.query(
    `insert into raw.shop_events_archived_days (load_day, staged_events, removed_events)
     values ($1::date, $2, $3)
     on conflict (load_day) do update
     set staged_events = excluded.staged_events, removed_events = excluded.removed_events, archived_at = now()`,
    [day, result.staged, result.removed],
  );
  return result;
}

/**
 * Makes the space of the deleted rows reusable by the next loads (and refreshes the planner's
 * statistics) without waiting for autovacuum. Outside any transaction: VACUUM cannot run in one.
 * The table does not shrink on disk: the free space is reused by the days staged next, so a
 * table under daily retention stays at about the retained days (docs/operations.md).
 *
 * Unless more rows left than stay (`removed`: the rows archived this run, an upper bound on
 * those removed from staging): then nothing will refill the space soon (a backfill's slice
 * took most of the table), so VACUUM FULL rewrites the table at the size of what stays. It
 * holds an exclusive lock meanwhile, seconds for what stays of the 10x world, during which a
 * micro-batch waits for it.
 */
export async function vacuumStaged(client: pg.Pool | pg.ClientBase, removed = 0): Promise<void> {
  const { rows } = await client.query<{ staged: boolean }>(`select to_regclass($1) is not null as staged`, [STAGED]);
  if (!rows[0]!.staged) return;
  const remaining = removed > 0 ? Number((await client.query<{ n: string }>(`select count(*)::text as n from ${STAGED}`)).rows[0]!.n) : 0;
  await client.query(removed > remaining ? `vacuum (full, analyze) ${STAGED}` : `vacuum (analyze) ${STAGED}`);
}
