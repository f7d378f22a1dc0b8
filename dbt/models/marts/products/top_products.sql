{#
    Every product that sold, ranked by net revenue: all time (to the as-of date) and over
    the last 30 days ending on the as-of date. Ties rank by product_id.
#}
{{ config(tags = ['whole_history']) }}
with

order_items as (

    select * from {{ ref('fct_order_items') }}

),

products as (

    select * from {{ ref('dim_products') }}
    where is_current or is_deleted

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

per_product as (

    select
        order_items.product_id,
        count(distinct order_items.order_id) as order_count,
        sum(order_items.quantity) filter (where not order_items.is_cancelled) as units_sold,
        sum(order_items.net_line_total) as net_revenue,
        sum(order_items.net_line_total) filter (
            where order_items.order_date > reporting_dates.as_of_date - 30
        ) as last_30_days_net_revenue,
        sum(order_items.quantity) filter (
            where not order_items.is_cancelled
            and order_items.order_date > reporting_dates.as_of_date - 30
        ) as last_30_days_units_sold
    from order_items
    cross join reporting_dates
    where order_items.order_date <= reporting_dates.as_of_date
    group by 1

),

latest_product as (

    {{ first_per_group('products', ['product_id'], 'valid_from desc') }}

),

final as (

    select
        ---------- ids
        per_product.product_id,

        ---------- strings
        latest_product.sku,
        latest_product.product_name,
        latest_product.category,
        latest_product.brand,

        ---------- numerics
        per_product.order_count::integer as order_count,
        coalesce(per_product.units_sold, 0)::integer as units_sold,
        coalesce(per_product.net_revenue, 0)::numeric(14, 2) as net_revenue,
        coalesce(per_product.last_30_days_units_sold, 0)::integer as last_30_days_units_sold,
        coalesce(per_product.last_30_days_net_revenue, 0)::numeric(14, 2)
            as last_30_days_net_revenue,
        rank() over (
            order by coalesce(per_product.net_revenue, 0) desc, per_product.product_id asc
        )::integer as revenue_rank,
        rank() over (
            order by
                coalesce(per_product.last_30_days_net_revenue, 0) desc,
                per_product.product_id asc
        )::integer as last_30_days_revenue_rank

    from per_product
    left join latest_product
        on per_product.product_id = latest_product.product_id

)

select * from final
