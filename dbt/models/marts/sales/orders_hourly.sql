{#
    Orders and revenue per hour of placement (UTC), every hour of every day up to the as-of
    date present, for intraday patterns and peak-load planning.
#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

hours as (

    select
        calendar.date_day,
        {{ integers_from_to(0, 23) }} as hour_of_day
    from calendar
    cross join reporting_dates
    where calendar.date_day <= reporting_dates.as_of_date

),

orders_per_hour as (

    select
        order_date,
        {{ utc_hour('placed_at') }}::integer as hour_of_day,
        count(*) as order_count,
        sum(unit_count) as unit_count,
        sum(total_amount) as gross_revenue,
        sum(net_revenue) as net_revenue
    from orders
    group by 1, 2

),

final as (

    select
        ---------- dates
        hours.date_day as order_date,

        ---------- numerics
        hours.hour_of_day::integer as hour_of_day,
        coalesce(orders_per_hour.order_count, 0)::integer as order_count,
        coalesce(orders_per_hour.unit_count, 0)::integer as unit_count,
        coalesce(orders_per_hour.gross_revenue, 0)::numeric(14, 2) as gross_revenue,
        coalesce(orders_per_hour.net_revenue, 0)::numeric(14, 2) as net_revenue,

        ---------- timestamps
        {{ utc_hour_start('hours.date_day', 'hours.hour_of_day') }} as hour_start_at

    from hours
    left join orders_per_hour
        on
            hours.date_day = orders_per_hour.order_date
            and hours.hour_of_day = orders_per_hour.hour_of_day

)

select * from final
