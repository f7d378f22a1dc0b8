{#
    One row per raw landing table: rows landed and when the newest arrived. Age is left to
    the reader (dashboards compare last_loaded_at with their own clock); nothing here reads
    the wall clock.
#}
with

shop_changes as (

    select * from {{ source('shop', 'shop_changes') }}

),

shop_events as (

    select * from {{ source('clickstream', 'shop_events') }}

),

dead_letters as (

    select * from {{ source('shop', 'dead_letters') }}

),

per_table as (

    select
        'raw.shop_changes' as source_table,
        'ingest/cdc' as loader,
        count(*) as row_count,
        min(_loaded_at) as first_loaded_at,
        max(_loaded_at) as last_loaded_at,
        max(source_committed_at) as last_source_event_at
    from shop_changes

    union all

    select
        'raw.shop_events' as source_table,
        'ingest/kafka' as loader,
        count(*) as row_count,
        min(_loaded_at) as first_loaded_at,
        max(_loaded_at) as last_loaded_at,
        max(event_time) as last_source_event_at
    from shop_events

    union all

    select
        'raw.dead_letters' as source_table,
        'ingest/kafka, ingest/cdc' as loader,
        count(*) as row_count,
        min(_loaded_at) as first_loaded_at,
        max(_loaded_at) as last_loaded_at,
        max(received_at) as last_source_event_at
    from dead_letters

),

final as (

    select
        ---------- strings
        source_table,
        loader,

        ---------- numerics
        row_count::bigint as row_count,

        ---------- timestamps
        first_loaded_at,
        last_loaded_at,
        last_source_event_at

    from per_table

)

select * from final
