{#
    One row per clickstream session: when it ran, who it was, and how far down the funnel
    it went (product view -> add to cart -> checkout -> order).

    Incremental: the sessions of the events this run's clickstream batch holds (the offsets
    landed since the last build, macros/clickstream_batches.sql) are rebuilt whole, whatever
    the load times say: a backfill is read once.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'session_id',
        incremental_strategy = 'delete+insert',
        on_schema_change = 'fail',
        post_hook = ["{{ record_clickstream_batch() }}"],
        indexes = [
            {'columns': ['session_id'], 'unique': true},
            {'columns': ['session_date']},
            {'columns': ['last_loaded_at']},
        ],
    )
}}

{%- set batch = clickstream_batch() %}
{{ clickstream_batch_marker(batch) }}

with

events as (

    -- From staging, not fct_events, so sessions build alongside the event fact.
    select
        event_id,
        session_id,
        customer_id,
        anonymous_id,
        order_id,
        event_type,
        device,
        country_code,
        referrer,
        event_at,
        _loaded_at as loaded_at
    from {{ ref('stg_clickstream__events') }}

),

{%- if is_incremental() %}

changed_sessions as (

    -- Straight from the table, not through the events CTE: a CTE used twice is materialised
    -- whole (every event of the history) before the join can use the session_id index.
    select distinct new_events.session_id
    from ({{ clickstream_batch_events(batch) }}) as new_events

),

events_in_scope as (

    select events.*
    from events
    inner join changed_sessions
        on events.session_id = changed_sessions.session_id

),

{%- else %}

events_in_scope as (

    select * from events

),

{%- endif %}

sessions as (

    select
        ---------- ids
        session_id,
        max(customer_id) as customer_id,
        min(anonymous_id) as anonymous_id,
        coalesce('customer:' || max(customer_id)::text, 'anonymous:' || min(anonymous_id))
            as visitor_id,

        ---------- strings
        (array_agg(device order by event_at asc, event_id asc))[1] as device,
        (array_agg(country_code order by event_at asc, event_id asc))[1] as country_code,
        (array_agg(referrer order by event_at asc, event_id asc))[1] as landing_referrer,

        ---------- numerics
        count(*)::integer as event_count,
        count(*) filter (where event_type = 'page_view')::integer as page_view_count,
        count(*) filter (where event_type = 'product_view')::integer as product_view_count,
        count(*) filter (where event_type = 'add_to_cart')::integer as add_to_cart_count,
        count(*) filter (where event_type = 'checkout_started')::integer
            as checkout_started_count,
        count(*) filter (where event_type = 'order_placed')::integer as order_placed_count,
        max(order_id) as order_id,

        ---------- booleans
        bool_or(event_type = 'product_view') as has_product_view,
        bool_or(event_type = 'add_to_cart') as has_add_to_cart,
        bool_or(event_type = 'checkout_started') as has_checkout_started,
        bool_or(event_type = 'order_placed') as has_order_placed,

        ---------- timestamps
        min(event_at) as started_at,
        max(event_at) as ended_at,
        max(loaded_at) as last_loaded_at

    from events_in_scope
    group by session_id

),

final as (

    select
        session_id,
        customer_id,
        anonymous_id,
        visitor_id,
        order_id,
        device,
        country_code,
        landing_referrer,
        event_count,
        page_view_count,
        product_view_count,
        add_to_cart_count,
        checkout_started_count,
        order_placed_count,
        -- bigint: one session id reused across decades is admitted (event times span 1970-2099) and
        -- its duration passes the 68 years an integer holds.
        extract(epoch from ended_at - started_at)::bigint as duration_seconds,
        has_product_view,
        has_add_to_cart,
        has_checkout_started,
        has_order_placed,
        (started_at at time zone 'UTC')::date as session_date,
        started_at,
        ended_at,
        last_loaded_at
    from sessions

)

select * from final
