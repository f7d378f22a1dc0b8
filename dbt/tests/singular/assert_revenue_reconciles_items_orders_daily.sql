{#
    Revenue reconciles at every level: the order lines of each order add up to its
    subtotal, and the daily mart's gross and net revenue equal the orders placed that day
    (so nothing is lost or double-counted between fct_order_items, fct_orders and
    revenue_daily). Returns the days or orders that do not reconcile.
#}
{{ config(tags = ['whole_history']) }}
with

order_items as (

    select * from {{ ref('fct_order_items') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

revenue_daily as (

    select * from {{ ref('revenue_daily') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

lines_per_order as (

    select
        order_id,
        sum(line_total) as line_total,
        sum(net_line_total) as net_line_total
    from order_items
    group by 1

),

order_mismatches as (

    select
        'order ' || {{ as_text("orders.order_id") }} as failing_key,
        orders.subtotal_amount as expected,
        coalesce(lines_per_order.line_total, 0) as actual
    from orders
    left join lines_per_order
        on orders.order_id = lines_per_order.order_id
    where
        orders.subtotal_amount <> coalesce(lines_per_order.line_total, 0)
        or coalesce(lines_per_order.net_line_total, 0) <> case
            when orders.is_cancelled or orders.is_returned then 0
            else orders.subtotal_amount
        end

),

orders_per_day as (

    select
        orders.order_date,
        sum(orders.total_amount) as gross_revenue,
        sum(orders.net_revenue) as net_revenue
    from orders
    cross join reporting_dates
    where orders.order_date <= reporting_dates.as_of_date
    group by 1

),

day_mismatches as (

    select
        'day ' || {{ as_text("coalesce(revenue_daily.revenue_date, orders_per_day.order_date)") }}
            as failing_key,
        coalesce(orders_per_day.gross_revenue, 0) + coalesce(orders_per_day.net_revenue, 0)
            as expected,
        coalesce(revenue_daily.gross_revenue, 0) + coalesce(revenue_daily.net_revenue, 0)
            as actual
    from revenue_daily
    full outer join orders_per_day
        on revenue_daily.revenue_date = orders_per_day.order_date
    where
        coalesce(revenue_daily.gross_revenue, 0) <> coalesce(orders_per_day.gross_revenue, 0)
        or coalesce(revenue_daily.net_revenue, 0) <> coalesce(orders_per_day.net_revenue, 0)

),

total_mismatch as (

    select
        'total' as failing_key,
        (select sum(net_revenue) from orders_per_day) as expected,
        (select sum(net_revenue) from revenue_daily) as actual
    where
        (select coalesce(sum(net_revenue), 0) from orders_per_day)
        <> (select coalesce(sum(net_revenue), 0) from revenue_daily)

)

select * from order_mismatches
union all
select * from day_mismatches
union all
select * from total_mismatch
