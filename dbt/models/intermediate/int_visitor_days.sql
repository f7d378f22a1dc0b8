{#
    One row per visitor and day with any clickstream event: the input of DAU / WAU / MAU.
    first_loaded_at is when the first event making the pair was loaded; incremental runs of
    active_users_daily rebuild the days such new pairs touch.

    Incremental: the events of this run's clickstream batch (the offsets landed since the last
    build, macros/clickstream_batches.sql), skipping pairs already kept. Pairs are only ever
    added, so this equals a full refresh.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = ['visitor_id', 'event_date'],
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        post_hook = ["{{ record_clickstream_batch() }}"],
        indexes = [
            {'columns': ['visitor_id', 'event_date'], 'unique': true},
            {'columns': ['event_date']},
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
