{#
    One row per visitor and day with any clickstream event: the input of DAU / WAU / MAU.
    first_loaded_at is when the first event making the pair was loaded; incremental runs of
    active_users_daily rebuild the days such new pairs touch.

    Incremental: the events of this run's clickstream batch (the offsets landed since the last
    build, macros/clickstream_batches.sql), skipping pairs already kept. Pairs are only ever
    added, so this equals a full refresh.

    Its unique index leads with the day: a cycle's new pairs are recent days, so their index
    entries land together at its end. Led by visitor_id, each new pair went to a random leaf
    of the index (10x world, 9.3M pairs, 53k new ones: 5.9 s and 87 MB of WAL against 0.6 s
    and 14 MB), and the day's own index is no longer needed. Warehouses built before get the
    new index on their next run (macros/indexes.sql).

    active_users_daily reads a month of it by index-only scans; autovacuum visits it every 10k
    new pairs (macros/indexes.sql vacuum_after_inserts), so that month stays marked all-visible
    and those scans do not read the heap.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = ['visitor_id', 'event_date'],
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        post_hook = [
            "{{ record_clickstream_batch() }}",
            "{{ ensure_index(['event_date', 'visitor_id'], unique = true) }}",
            "{{ drop_index_on(['visitor_id', 'event_date']) }}",
            "{{ drop_index_on(['event_date']) }}",
            "{{ vacuum_after_inserts(10000) }}",
        ],
        indexes = [
            {'columns': ['first_loaded_at']},
        ],
    )
}}

{%- set batch = clickstream_batch() %}
{{ clickstream_batch_marker(batch) }}

with

events as (

    -- From staging (the same rows as fct_events), so this builds alongside the event fact.
    select
        {{ visitor_key('customer_id', 'anonymous_id') }} as visitor_id,
        (event_at at time zone 'UTC')::date as event_date,
        _loaded_at as loaded_at
    {%- if is_incremental() %}
    from ({{ clickstream_batch_events(batch) }}) as new_events
    {%- else %}
    from {{ ref('stg_clickstream__events') }}
    {%- endif %}

),

visitor_days as (

    select
        visitor_id,
        event_date,
        min(loaded_at) as first_loaded_at
    from events
    group by 1, 2

),

final as (

    select * from visitor_days
    {%- if is_incremental() %}
    where
        not exists (
            select 1
            from {{ this }} as kept
            where
                kept.visitor_id = visitor_days.visitor_id
                and kept.event_date = visitor_days.event_date
        )
    {%- endif %}

)

select * from final
