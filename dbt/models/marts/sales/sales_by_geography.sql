{#
    Sales per month by the customer's location when the order was placed (SCD2 version of
    the customer: country, region, city), so a customer who moved counts where they lived.
#}
{{ config(tags = ['whole_history']) }}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

grouped as (

    select
        date_trunc('month', orders.order_date)::date as order_month,
        orders.customer_country_code as country_code,
        coalesce(orders.customer_region, '(none)') as region,
        orders.customer_city as city,
        count(*) as order_count,
        count(distinct orders.customer_id) as customer_count,
        sum(orders.unit_count) as unit_count,
        sum(orders.total_amount) as gross_revenue,
        sum(orders.net_revenue) as net_revenue
    from orders
    cross join reporting_dates
    where orders.order_date <= reporting_dates.as_of_date
    group by 1, 2, 3, 4

),

final as (

    select
        ---------- dates
        order_month,

        ---------- strings
        country_code,
        region,
        city,

        ---------- numerics
        order_count::integer as order_count,
        customer_count::integer as customer_count,
        unit_count::integer as unit_count,
        gross_revenue::numeric(14, 2) as gross_revenue,
        net_revenue::numeric(14, 2) as net_revenue

    from grouped

)

select * from final
