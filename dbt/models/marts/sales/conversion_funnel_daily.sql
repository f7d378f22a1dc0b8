{#
    The conversion funnel per day of session start: sessions, and how many reached a
    product view, an add to cart, a checkout and an order, with step and overall rates.
    Stages are cumulative (a session that ordered without a logged cart still counts at
    every earlier stage), so each stage is at most the one before.

    Incremental: only days that can have changed are rebuilt: from the earliest start day of
    the sessions of this run's clickstream batch (the events fct_sessions folded in since this
    mart's last build, macros/clickstream_batches.sql; a late event can move a session's start
    to an earlier day; the day it left is later, so it is rebuilt too), and days not built yet.
    The cost follows new sessions, not history. sessions_loaded_at is the newest session load
    a day's figures include.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'session_date',
        incremental_strategy = 'delete+insert',
        on_schema_change = 'fail',
        post_hook = ["{{ delete_days_after_as_of('session_date') }}", "{{ record_clickstream_batch() }}"],
    )
}}

{%- set batch = clickstream_batch(parent = 'fct_sessions') %}
{{ clickstream_batch_marker(batch) }}
{%- if is_incremental() %}
{%- set first_changed_day -%}
    -- The sessions' start days now: a late event only moves a start earlier, and every day
    -- from there on is rebuilt, the day the session left included.
    select min(changed_sessions.session_date)
    from {{ ref('fct_sessions') }} as changed_sessions
    where changed_sessions.session_id in (
        select new_events.session_id
        from ({{ clickstream_batch_events(batch) }}) as new_events
    )
{%- endset %}
{%- set first_day = first_day_to_rebuild('session_date', first_changed_day) %}
{%- endif %}

with

sessions as (

    select * from {{ ref('fct_sessions') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

days_to_build as (

    {{ days_to_rebuild(first_day) }}

),

staged as (

    select
        sessions.session_date,
        sessions.last_loaded_at,
        sessions.has_order_placed as reached_order,
        sessions.has_order_placed or sessions.has_checkout_started as reached_checkout,
        sessions.has_order_placed
        or sessions.has_checkout_started
        or sessions.has_add_to_cart as reached_cart,
        sessions.has_order_placed
        or sessions.has_checkout_started
        or sessions.has_add_to_cart
        or sessions.has_product_view as reached_product_view
    from sessions
    {%- if is_incremental() %}
    where sessions.session_date >= {{ first_day }}
    {%- endif %}

),

per_day as (

    select
        session_date,
        count(*) as sessions,
        count(*) filter (where reached_product_view) as product_view_sessions,
        count(*) filter (where reached_cart) as add_to_cart_sessions,
        count(*) filter (where reached_checkout) as checkout_sessions,
        count(*) filter (where reached_order) as order_sessions,
        max(last_loaded_at) as sessions_loaded_at
    from staged
    group by 1

),

final as (

    select
        ---------- dates
        calendar.date_day as session_date,

        ---------- numerics
        coalesce(per_day.sessions, 0)::integer as session_count,
        coalesce(per_day.product_view_sessions, 0)::integer as product_view_sessions,
        coalesce(per_day.add_to_cart_sessions, 0)::integer as add_to_cart_sessions,
        coalesce(per_day.checkout_sessions, 0)::integer as checkout_sessions,
        coalesce(per_day.order_sessions, 0)::integer as order_sessions,
        {{ safe_rate('per_day.product_view_sessions', 'per_day.sessions') }} as view_rate,
        {{ safe_rate('per_day.add_to_cart_sessions', 'per_day.product_view_sessions') }}
            as view_to_cart_rate,
        {{ safe_rate('per_day.checkout_sessions', 'per_day.add_to_cart_sessions') }}
            as cart_to_checkout_rate,
        {{ safe_rate('per_day.order_sessions', 'per_day.checkout_sessions') }}
            as checkout_to_order_rate,
        {{ safe_rate('per_day.order_sessions', 'per_day.sessions') }} as conversion_rate,

        ---------- timestamps
        per_day.sessions_loaded_at

    from days_to_build as calendar
    left join per_day
        on calendar.date_day = per_day.session_date

)

select * from final
