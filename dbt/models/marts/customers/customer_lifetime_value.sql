{#
    Lifetime value of every customer who placed an order on or before the as-of date:
    orders, net revenue to date, average order value, first and last order, and tenure.
#}
{{ config(tags = ['whole_history']) }}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}
    where is_current

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

per_customer as (

    select
        orders.customer_id,
        count(*) as order_count,
        count(*) filter (where not orders.is_cancelled) as valid_order_count,
        sum(orders.total_amount) as gross_revenue,
        sum(orders.net_revenue) as net_revenue,
        min(orders.placed_at) as first_order_at,
        max(orders.placed_at) as last_order_at
    from orders
    cross join reporting_dates
    where orders.order_date <= reporting_dates.as_of_date
    group by 1

),

final as (

    select
        ---------- ids
        per_customer.customer_id,

        ---------- strings
        customers.signup_channel,
        customers.country_code,

        ---------- numerics
        per_customer.order_count::integer as order_count,
        per_customer.valid_order_count::integer as valid_order_count,
        per_customer.gross_revenue::numeric(14, 2) as gross_revenue,
        per_customer.net_revenue::numeric(14, 2) as lifetime_value,
        round(
            per_customer.net_revenue / nullif(per_customer.valid_order_count, 0), 2
        )::numeric(14, 2) as average_order_value,
        (
            reporting_dates.as_of_date - {{ utc_date('per_customer.first_order_at') }}
        )::integer as tenure_days,

        ---------- booleans
        per_customer.valid_order_count >= 2 as is_repeat_customer,

        ---------- timestamps
        per_customer.first_order_at,
        per_customer.last_order_at

    from per_customer
    cross join reporting_dates
    left join customers
        on per_customer.customer_id = customers.customer_id

)

select * from final
