-- raw.shop_events: typed columns instead of a jsonb payload, partitioned by load day.
--
-- Why (docs/kafka-ingestor.md, "Raw layout", has the figures): Postgres parses every jsonb
-- value on COPY, which capped the Kafka ingestor at a third of what the same events load at
-- as typed columns, and stored each event's field names again in every row. The event
-- contract is strict (lib/events/schema.ts: no field beyond its own, each with a bounded type),
-- so an admitted event is exactly its typed columns: the ingestor writes them, in the order
-- and with the types of lib/events/columns.ts (tests/lib/events/columns.test.ts compares this
-- table with that list).
--
-- payload stays, nullable: it holds the JSON of a row whose body the columns do not hold,
-- i.e. a row another writer landed as JSON or an old row this migration could not type
-- exactly (see below). The ingestor never writes it. Staging reads the typed columns, and
-- types such a payload as before, rejects included.
--
-- Partitioned by day of _loaded_at (UTC): an append-only log read by load time (incremental
-- staging, the raw gate), and retained by load day (a day's partition is archived and dropped
-- whole instead of deleted row by row). The ingestor writes only into the day its transaction
-- runs in; raw.ensure_shop_events_partitions() creates the coming days ahead (the ingestor
-- calls it at start and hourly; this migration for yesterday to two days ahead), and the
-- default partition takes any row with no day partition, so no insert can fail for want of one.
-- A partition made later for a day the default partition holds rows of takes those rows over.
--
-- No primary key. (topic, kafka_partition, kafka_offset) is the row's identity, but a
-- partitioned table's unique index must contain the partition key, so it could only say
-- "unique per load day", and that btree cost 35-45 % of the COPY rate (bench raw-layout-kafka:
-- typed_partitioned against typed_partitioned_pk). Exactly once is the offsets table's job, as
-- it always was: ingest.kafka_offsets moves in the same transaction as the rows, fenced against
-- a second writer (ingest/kafka/warehouse.ts); tests/ingest/kafka/** check that every offset
-- lands once.

alter table raw.shop_events rename to shop_events_jsonb;
drop index if exists raw.shop_events_loaded_at_brin;

create table raw.shop_events (
    topic             text          not null,
    kafka_partition   integer       not null,
    kafka_offset      bigint        not null,
    message_key       text,
    event_id          text          not null,
    event_type        text          not null,
    event_time        timestamptz   not null,
    schema_version    integer,
    session_id        text,
    customer_id       bigint,
    anonymous_id      text,
    device            text,
    country_code      text,
    page_url          text,
    referrer          text,
    product_id        bigint,
    price             numeric(12, 2),
    quantity          integer,
    cart_value        numeric(12, 2),
    item_count        integer,
    order_id          bigint,
    order_total       numeric(12, 2),
    payload           jsonb,
    kafka_timestamp   timestamptz,
    _loaded_at        timestamptz   not null default now()
) partition by range (_loaded_at);

comment on column raw.shop_events.payload is
    'JSON of a row whose body the typed columns do not hold (landed by another writer, or an old row not typable exactly); null for every row the Kafka ingestor writes.';

-- Incremental staging and the raw gate read the newest load times; rows arrive in load order.
create index shop_events_loaded_at_brin on raw.shop_events using brin (_loaded_at) with (autosummarize = on);

create table raw.shop_events_default partition of raw.shop_events default;

-- Creates the partition of one UTC day if it does not exist, taking over the rows the default
-- partition holds for that day. Owned by the migrating role (the table's owner): creating and
-- attaching a partition needs ownership, which ingest_writer must not have.
create or replace function raw.create_shop_events_partition(p_day date) returns boolean
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    partition_name text := 'shop_events_' || to_char(p_day, 'YYYYMMDD');
    day_start timestamptz := p_day::timestamp at time zone 'UTC';
    day_end timestamptz := (p_day + 1)::timestamp at time zone 'UTC';
begin
    if to_regclass(format('raw.%I', partition_name)) is not null then
        return false;
    end if;
    -- One creator at a time (two ingestors starting together); re-check under the lock.
    perform pg_advisory_xact_lock(727100150);
    if to_regclass(format('raw.%I', partition_name)) is not null then
        return false;
    end if;
    execute format('create table raw.%I (like raw.shop_events including defaults including constraints)', partition_name);
    execute format(
        'with moved as (delete from raw.shop_events_default where _loaded_at >= %L and _loaded_at < %L returning *) '
        'insert into raw.%I select * from moved',
        day_start, day_end, partition_name);
    execute format('alter table raw.shop_events attach partition raw.%I for values from (%L) to (%L)',
        partition_name, day_start, day_end);
    return true;
end
$$;

-- The partitions from yesterday to `days_ahead` days after today (database time, UTC); returns
-- how many it created. Called by the Kafka ingestor (as ingest_writer) at start and hourly.
create or replace function raw.ensure_shop_events_partitions(days_ahead integer default 2) returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    today date := (now() at time zone 'UTC')::date;
    created integer := 0;
begin
    if days_ahead < 0 or days_ahead > 31 then
        raise exception 'days_ahead must be from 0 to 31, got %', days_ahead using errcode = '22023';
    end if;
    for offset_days in -1..days_ahead loop
        if raw.create_shop_events_partition(today + offset_days) then
            created := created + 1;
        end if;
    end loop;
    return created;
end
$$;

revoke all on function raw.create_shop_events_partition(date) from public;
revoke all on function raw.ensure_shop_events_partitions(integer) from public;
grant execute on function raw.ensure_shop_events_partitions(integer) to ingest_writer;

-- One partition per load day already in the log, then the days around today.
select raw.create_shop_events_partition(day)
from (select distinct (_loaded_at at time zone 'UTC')::date as day from raw.shop_events_jsonb) as days;
select raw.ensure_shop_events_partitions(2);

-- The old rows, typed where the columns hold the payload exactly: a JSON object with no field
-- beyond the contract's, the envelope's event id, type and time equal to the payload's, every
-- number a value of its column's type (money with at most two decimals, integers without a
-- fraction) and every text field a string. Anything else keeps its payload and leaves the
-- body columns null, and staging types it (or rejects it) from the JSON as it did before.
insert into raw.shop_events (
    topic, kafka_partition, kafka_offset, message_key, event_id, event_type, event_time,
    schema_version, session_id, customer_id, anonymous_id, device, country_code, page_url, referrer,
    product_id, price, quantity, cart_value, item_count, order_id, order_total,
    payload, kafka_timestamp, _loaded_at
)
select
    old.topic, old.kafka_partition, old.kafka_offset, old.message_key, old.event_id, old.event_type, old.event_time,
    case when exact then (old.payload ->> 'schema_version')::integer end,
    case when exact then old.payload ->> 'session_id' end,
    case when exact then (old.payload ->> 'customer_id')::bigint end,
    case when exact then old.payload ->> 'anonymous_id' end,
    case when exact then old.payload ->> 'device' end,
    case when exact then old.payload ->> 'country_code' end,
    case when exact then old.payload ->> 'page_url' end,
    case when exact then old.payload ->> 'referrer' end,
    case when exact then (old.payload ->> 'product_id')::bigint end,
    case when exact then (old.payload ->> 'price')::numeric(12, 2) end,
    case when exact then (old.payload ->> 'quantity')::integer end,
    case when exact then (old.payload ->> 'cart_value')::numeric(12, 2) end,
    case when exact then (old.payload ->> 'item_count')::integer end,
    case when exact then (old.payload ->> 'order_id')::bigint end,
    case when exact then (old.payload ->> 'order_total')::numeric(12, 2) end,
    case when exact then null else old.payload end,
    old.kafka_timestamp,
    old._loaded_at
from raw.shop_events_jsonb as old
cross join lateral (
    select coalesce(
        jsonb_typeof(old.payload) = 'object'
        -- case, not and: Postgres may evaluate and's operands in any order, and the checks
        -- below only make sense on an object.
        and case when jsonb_typeof(old.payload) <> 'object' then false else (
            not exists (
                select 1 from jsonb_object_keys(old.payload) as k (field)
                where k.field not in (
                    'schema_version', 'event_id', 'event_time', 'session_id', 'customer_id', 'anonymous_id',
                    'device', 'country_code', 'page_url', 'referrer', 'event_type', 'product_id', 'price',
                    'quantity', 'cart_value', 'item_count', 'order_id', 'order_total'
                )
            )
            and old.payload ->> 'event_id' = old.event_id
            and old.payload ->> 'event_type' = old.event_type
            and pg_input_is_valid(old.payload ->> 'event_time', 'timestamptz')
            and (old.payload ->> 'event_time')::timestamptz = old.event_time
            and (select bool_and(
                    case
                        when jsonb_typeof(old.payload -> f.field) is null or jsonb_typeof(old.payload -> f.field) = 'null' then true
                        when f.kind = 'text' then jsonb_typeof(old.payload -> f.field) = 'string'
                        when jsonb_typeof(old.payload -> f.field) <> 'number' then false
                        when f.kind = 'money' then
                            pg_input_is_valid(old.payload ->> f.field, 'numeric(12, 2)')
                            and scale((old.payload ->> f.field)::numeric) <= 2
                        else pg_input_is_valid(old.payload ->> f.field, f.kind)
                    end)
                 from (values
                    ('schema_version', 'integer'), ('session_id', 'text'), ('customer_id', 'bigint'),
                    ('anonymous_id', 'text'), ('device', 'text'), ('country_code', 'text'),
                    ('page_url', 'text'), ('referrer', 'text'), ('product_id', 'bigint'),
                    ('price', 'money'), ('quantity', 'integer'), ('cart_value', 'money'),
                    ('item_count', 'integer'), ('order_id', 'bigint'), ('order_total', 'money')
                 ) as f (field, kind))
        ) end,
        false) as exact
) as typing;

drop table raw.shop_events_jsonb;

-- The privileges 0090 gives every raw table: ingest_writer appends and reads, transformer reads.
revoke all on raw.shop_events from ingest_writer;
grant select, insert on raw.shop_events to ingest_writer;
grant select on raw.shop_events to transformer;
