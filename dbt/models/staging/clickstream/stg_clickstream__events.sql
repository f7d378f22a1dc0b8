{#
    The clickstream, one row per event_id. raw.shop_events is a log of Kafka messages and keeps
    producer re-sends; the first copy (load order, then partition and offset) wins. Its rows
    come typed (migration 0150); a row landed as JSON is typed here from its payload.

    A table, not a view over raw: the first copy of an event_id is a question about the whole
    history, which a day-partitioned log cannot index (its unique indexes hold per day), and
    the marts read by session and event id (docs/kafka-ingestor.md, "Staging: table or view").
    The index on (kafka_topic, kafka_partition, kafka_offset) is what the incremental models
    downstream read their new events by (macros/clickstream_batches.sql). The one on event_at
    answers "the newest event (of a type) up to a day" from its end, for the report's freshness
    and the marts gate's CDC-behind-clickstream check: without it each read every event (4.5 s
    and twice 2.9 s of the 10x 08:00 job). It came after the table's first version, so a
    post-hook creates it (macros/indexes.sql): existing warehouses get it on their next run.

    Incremental: the raw rows past the largest offset kept here in their topic and partition
    (macros/clickstream_unstaged.sql: ingest transactions that commit late included, whatever
    their load time, so a backfill is read once), skipping event_ids already kept. A re-send
    loaded after the first copy is a later offset, so the first copy is already here. A full
    refresh picks the same first copies, so both give the same table.

    Raw retention (docs/operations.md "Raw retention"): when a load day of raw is archived, the
    rows staging kept from it are deleted here too and their event ids kept as compact keys in
    raw.shop_events_archived_keys (migration 0280), with the archived load day. A re-send of an
    archived event is therefore still not admitted: incrementally, any archived key is an event
    kept before (every row read here lies past what staging had read when its day left); on a
    full refresh, a first copy raw still holds on a later load day than the archived one is such
    a re-send, while one on the archived day itself was rehydrated and is staged again.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'event_id',
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        post_hook = ["{{ ensure_index(['event_at']) }}"],
        indexes = [
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['_loaded_at']},
            {'columns': ['session_id']},
            {'columns': ['kafka_topic', 'kafka_partition', 'kafka_offset']},
        ],
    )
}}

-- Messages staging cannot type are listed first, in the window this model is about to read.
-- depends_on: {{ ref('stg_clickstream__event_rejects') }}

with

landed as (

    select shop_events.*
    from {{ source('clickstream', 'shop_events') }} as shop_events
    where {{ clickstream_unstaged_rows('shop_events') }}

),

source as (

    -- A message the casts below cannot hold is left to stg_clickstream__event_rejects.
    select *
    from landed
    where {{ clickstream_row_is_typeable('landed') }} is true

),

typed_by_ingestor as (

    -- What the Kafka ingestor lands: the event's fields already in typed columns (payload null).
    select
        ---------- ids
        source.event_id,
        source.session_id,
        source.customer_id,
        source.anonymous_id,
        source.product_id,
        source.order_id,

        ---------- strings
        source.event_type,
        source.device,
        source.country_code,
        source.page_url,
        source.referrer,

        ---------- numerics
        source.schema_version,
        source.price,
        source.quantity,
        source.cart_value,
        source.item_count,
        source.order_total,

        ---------- timestamps
        source.event_time as event_at,

        ---------- source position
        source.topic as kafka_topic,
        source.kafka_partition,
        source.kafka_offset,
        source._loaded_at

    from source
    where source.payload is null

),

landed_as_json as (

    -- A row landed as JSON (another writer, or an old row migration 0150 could not type
    -- exactly): typed here from its payload, as every row was before.
    select *
    from source
    where payload is not null

),

typed_from_json as (

    -- One jsonb_to_record per message instead of one ->> per field.
    select
        ---------- ids
        landed_as_json.event_id,
        typed_payload.session_id,
        typed_payload.customer_id,
        typed_payload.anonymous_id,
        typed_payload.product_id,
        typed_payload.order_id,

        ---------- strings
        landed_as_json.event_type,
        typed_payload.device,
        typed_payload.country_code,
        typed_payload.page_url,
        typed_payload.referrer,

        ---------- numerics
        typed_payload.schema_version,
        typed_payload.price::numeric(12, 2) as price,
        typed_payload.quantity,
        typed_payload.cart_value::numeric(12, 2) as cart_value,
        typed_payload.item_count,
        typed_payload.order_total::numeric(12, 2) as order_total,

        ---------- timestamps
        landed_as_json.event_time as event_at,

        ---------- source position
        landed_as_json.topic as kafka_topic,
        landed_as_json.kafka_partition,
        landed_as_json.kafka_offset,
        landed_as_json._loaded_at

    from landed_as_json
    cross join lateral jsonb_to_record(landed_as_json.payload) as typed_payload (
        session_id text,
        customer_id bigint,
        anonymous_id text,
        product_id bigint,
        order_id bigint,
        device text,
        country_code text,
        page_url text,
        referrer text,
        schema_version integer,
        price numeric,
        quantity integer,
        cart_value numeric,
        item_count integer,
        order_total numeric
    )

),

typed as (

    select * from typed_by_ingestor
    union all
    select * from typed_from_json

),

first_copies as (

    -- Deduplicated after typing: the sort carries the typed columns, not the whole message.
    select distinct on (event_id) *
    from typed
    order by event_id asc, _loaded_at asc, kafka_topic asc, kafka_partition asc, kafka_offset asc

),

not_yet_kept as (

    select first_copies.*
    from first_copies
    where
        not exists (
            select 1
            from {{ source('clickstream_archive', 'shop_events_archived_keys') }} as archived
            where
                archived.event_key = md5(first_copies.event_id)::uuid
                -- Incrementally every archived key counts; a full refresh admits a first copy
                -- on its archived load day itself (that day was rehydrated).
                and (
                    {{ is_incremental() }}
                    or archived.load_day < (first_copies._loaded_at at time zone 'UTC')::date
                )
        )
        {%- if is_incremental() %}
        and not exists (
            select 1
            from {{ this }} as kept
            where kept.event_id = first_copies.event_id
        )
        {%- endif %}

),

final as (

    select * from not_yet_kept

)

select * from final
