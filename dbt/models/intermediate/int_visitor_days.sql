{#
    One row per visitor and day with any clickstream event: the input of DAU / WAU / MAU.
    first_loaded_at is when the first event making the pair was loaded; incremental runs of
    active_users_daily rebuild the days such new pairs touch.

    Incremental: events loaded since the newest pair kept (minus var events_lookback_minutes),
    skipping pairs already kept. Pairs are only ever added, so this equals a full refresh.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = ['visitor_id', 'event_date'],
        incremental_strategy = 'append',
        on_schema_change = 'fail',
        indexes = [
            {'columns': ['visitor_id', 'event_date'], 'unique': true},
            {'columns': ['event_date']},
            {'columns': ['first_loaded_at']},
        ],
    )
}}

with

events as (

    -- From staging (the same rows as fct_events), so this builds alongside the event fact.
    select
        {{ visitor_key('customer_id', 'anonymous_id') }} as visitor_id,
        (event_at at time zone 'UTC')::date as event_date,
        _loaded_at as loaded_at
    from {{ ref('stg_clickstream__events') }}
    {%- if is_incremental() %}
    where
        _loaded_at > {{ load_watermark('first_loaded_at') }}
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
