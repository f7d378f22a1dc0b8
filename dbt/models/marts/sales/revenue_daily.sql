{#
    Revenue per day of order placement, every calendar day present up to the as-of date.
    gross = every order placed that day; net = gross minus orders since cancelled or
    returned (attributed to the day they were placed, so a day's figure settles as its
    orders do). AOV = gross revenue / orders.
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

orders_per_day as (

    select
        order_date,
        count(*) as order_count,
        count(distinct customer_id) as customer_count,
        sum(unit_count) as unit_count,
        sum(total_amount) as gross_revenue,
        sum(total_amount) filter (where is_cancelled) as cancelled_revenue,
        sum(total_amount) filter (where is_returned) as returned_revenue,
        sum(net_revenue) as net_revenue,
        count(*) filter (where is_cancelled) as cancelled_order_count,
        count(*) filter (where is_returned) as returned_order_count
    from orders
    group by 1

),

final as (

    select
        ---------- dates
        calendar.date_day as revenue_date,

        ---------- numerics
        coalesce(orders_per_day.order_count, 0)::integer as order_count,
        coalesce(orders_per_day.cancelled_order_count, 0)::integer as cancelled_order_count,
        coalesce(orders_per_day.returned_order_count, 0)::integer as returned_order_count,
        coalesce(orders_per_day.customer_count, 0)::integer as customer_count,
        coalesce(orders_per_day.unit_count, 0)::integer as unit_count,
        coalesce(orders_per_day.gross_revenue, 0)::numeric(14, 2) as gross_revenue,
        coalesce(orders_per_day.cancelled_revenue, 0)::numeric(14, 2) as cancelled_revenue,
        coalesce(orders_per_day.returned_revenue, 0)::numeric(14, 2) as returned_revenue,
        coalesce(orders_per_day.net_revenue, 0)::numeric(14, 2) as net_revenue,
        round(
            orders_per_day.gross_revenue / nullif(orders_per_day.order_count, 0), 2
        )::numeric(14, 2) as average_order_value

    from calendar
    cross join reporting_dates
    left join orders_per_day
        on calendar.date_day = orders_per_day.order_date
    where calendar.date_day <= reporting_dates.as_of_date

)

select * from final
