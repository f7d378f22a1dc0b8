{#
    Daily, weekly and monthly active visitors (DAU / WAU / MAU) for every day up to the
    as-of date: distinct visitors (signed-in customer, else browser cookie) with any event
    in the 1 / 7 / 30 days ending on that day.

    Computed without a 30-day self-join: each visitor's active days become islands of
    coverage ([day, day + window - 1], merged when they overlap), and a running sum of
    +1 at an island's start and -1 after its end counts the visitors covering each day.
#}
with

events as (

    select * from {{ ref('fct_events') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

visitor_days as (

    select distinct
        visitor_id,
        event_date
    from events

),

windows as (

    select * from (values ('dau', 1), ('wau', 7), ('mau', 30)) as w (metric, window_days)

),

with_gaps as (

    select
        windows.metric,
        windows.window_days,
        visitor_days.visitor_id,
        visitor_days.event_date,
        case
            when visitor_days.event_date - lag(visitor_days.event_date) over (
                partition by windows.metric, visitor_days.visitor_id
                order by visitor_days.event_date asc
            ) < windows.window_days then 0
            else 1
        end as starts_island
    from visitor_days
    cross join windows

),

numbered as (

    select
        *,
        sum(starts_island) over (
            partition by metric, visitor_id
            order by event_date asc
            rows between unbounded preceding and current row
        ) as island_number
    from with_gaps

),

islands as (

    select
        metric,
        min(event_date) as covered_from,
        max(event_date) + window_days as covered_until_exclusive
    from numbered
    group by metric, visitor_id, island_number, window_days

),

deltas as (

    select
        metric,
        covered_from as delta_date,
        1 as delta
    from islands
    union all
    select
        metric,
        covered_until_exclusive as delta_date,
        -1 as delta
    from islands

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

    select
        calendar.date_day,
        windows.metric,
        coalesce(daily_deltas.delta, 0) as delta
    from calendar
    cross join windows
    left join daily_deltas
        on
            calendar.date_day = daily_deltas.delta_date
            and windows.metric = daily_deltas.metric

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
        )::numeric(7, 4) as dau_mau_ratio

    from pivoted
    cross join reporting_dates
    where pivoted.date_day <= reporting_dates.as_of_date

)

select * from final
