{#
    Daily, weekly and monthly active visitors (DAU / WAU / MAU) for every day up to the
    as-of date: distinct visitors (signed-in customer, else browser cookie) with any event
    in the 1 / 7 / 30 days ending on that day.

    Computed without a 30-day self-join: a visitor counts in a window ending on day D when
    their latest active day up to D is less than the window's length before D. So each
    active day d, followed by the visitor's next active day n, adds +1 on d and -1 on
    least(n, d + window days); a running sum of these deltas counts the visitors per day.

    Incremental: only the days that can have changed are rebuilt: from the earliest event day
    of this run's clickstream batch (the events int_visitor_days folded in since this mart's
    last build, macros/clickstream_batches.sql; late events included), and days not built
    yet (a later as-of date among them). A day's figures need the 29 days before it, so the
    visitor days read start 29 days earlier; the cost follows new data, not history.
#}
{{
    config(
        materialized = 'incremental',
        unique_key = 'activity_date',
        incremental_strategy = 'delete+insert',
        on_schema_change = 'fail',
        post_hook = ["{{ delete_days_after_as_of('activity_date') }}", "{{ record_clickstream_batch() }}"],
    )
}}

{%- set batch = clickstream_batch(parent = 'int_visitor_days') %}
{{ clickstream_batch_marker(batch) }}
{%- if is_incremental() %}
{%- set first_changed_day -%}
    select min((new_events.event_at at time zone 'UTC')::date)
    from ({{ clickstream_batch_events(batch) }}) as new_events
{%- endset %}
{%- set first_day = first_day_to_rebuild('activity_date', first_changed_day) %}
{%- endif %}

with

visitor_days as (

    select * from {{ ref('int_visitor_days') }}

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

scope as (

    -- The first visitor day the 30-day window of the first day to build reaches back to.
    select min(date_day) - 29 as first_visitor_day
    from days_to_build

),

visitor_days_in_scope as (

    select
        visitor_days.visitor_id,
        visitor_days.event_date
    from visitor_days
    {%- if is_incremental() %}
    -- A literal, so the planner reads a range of the event_date index, not the history.
    where visitor_days.event_date >= {{ first_day }} - 29
    {%- endif %}

),

windows as (

    select * from (values ('dau', 1), ('wau', 7), ('mau', 30)) as w (metric, window_days)

),

spans as (

    -- Each active day with the visitor's next one (null for their last).
    select
        event_date,
        lead(event_date) over (
            partition by visitor_id
            order by event_date asc
        ) as next_event_date
    from visitor_days_in_scope

),

deltas as (

    select
        windows.metric,
        spans.event_date as delta_date,
        1 as delta
    from spans
    cross join windows
    union all
    -- least() skips a null: without a next active day the window simply runs out.
    select
        windows.metric,
        least(spans.next_event_date, spans.event_date + windows.window_days) as delta_date,
        -1 as delta
    from spans
    cross join windows

),

daily_deltas as (

    select
        metric,
        delta_date,
        sum(delta) as delta
    from deltas
    group by 1, 2

),

days_by_metric as (

    -- Every day from the first visitor day in scope: the running sum starts there.
    select
        calendar.date_day,
        windows.metric,
        coalesce(daily_deltas.delta, 0) as delta
    from calendar
    cross join windows
    cross join scope
    left join daily_deltas
        on
            calendar.date_day = daily_deltas.delta_date
            and windows.metric = daily_deltas.metric
    where calendar.date_day >= scope.first_visitor_day

),

running as (

    select
        date_day,
        metric,
        sum(delta) over (
            partition by metric order by date_day asc
            rows between unbounded preceding and current row
        ) as active_visitors
    from days_by_metric

),

pivoted as (

    select
        date_day,
        max(active_visitors) filter (where metric = 'dau') as daily_active_users,
        max(active_visitors) filter (where metric = 'wau') as weekly_active_users,
        max(active_visitors) filter (where metric = 'mau') as monthly_active_users
    from running
    group by 1

),

loaded as (

    -- From the table, not the visitor_days CTE: a CTE read twice is materialised whole
    -- (every visitor day of the history) before the day filter above can use the index.
    select max(all_visitor_days.first_loaded_at) as clickstream_loaded_at
    from {{ ref('int_visitor_days') }} as all_visitor_days

),

final as (

    select
        ---------- dates
        pivoted.date_day as activity_date,

        ---------- numerics
        pivoted.daily_active_users::integer as daily_active_users,
        pivoted.weekly_active_users::integer as weekly_active_users,
        pivoted.monthly_active_users::integer as monthly_active_users,
        round(
            pivoted.daily_active_users::numeric / nullif(pivoted.monthly_active_users, 0), 4
        )::numeric(7, 4) as dau_mau_ratio,

        ---------- timestamps
        loaded.clickstream_loaded_at

    from pivoted
    inner join days_to_build
        on pivoted.date_day = days_to_build.date_day
    cross join loaded

)

select * from final
