{#
    Products at or below their reorder point on the as-of date, with recent demand and how
    many days the stock left would last at that pace (null when nothing sold).
#}
with

inventory_daily as (

    select * from {{ ref('fct_inventory_daily') }}

),

products as (

    select * from {{ ref('dim_products') }}
    where is_current

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

as_of_stock as (

    select inventory_daily.*
    from inventory_daily
    inner join reporting_dates
        on inventory_daily.inventory_date = reporting_dates.as_of_date

),

recent_demand as (

    select
        inventory_daily.product_id,
        sum(inventory_daily.units_sold) as units_sold_last_28_days
    from inventory_daily
    cross join reporting_dates
    where
        inventory_daily.inventory_date > reporting_dates.as_of_date - 28
        and inventory_daily.inventory_date <= reporting_dates.as_of_date
    group by 1

),

final as (

    select
        ---------- ids
        as_of_stock.product_id,

        ---------- strings
        products.sku,
        products.product_name,
        products.category,

        ---------- numerics
        as_of_stock.quantity_on_hand,
        as_of_stock.reorder_point,
        as_of_stock.reorder_quantity,
        coalesce(recent_demand.units_sold_last_28_days, 0)::integer as units_sold_last_28_days,
        round(coalesce(recent_demand.units_sold_last_28_days, 0) / 28.0, 2)::numeric(10, 2)
            as average_daily_units_sold,
        round(
            greatest(as_of_stock.quantity_on_hand, 0)
            / nullif(coalesce(recent_demand.units_sold_last_28_days, 0) / 28.0, 0),
            1
        )::numeric(10, 1) as days_of_cover,

        ---------- booleans
        as_of_stock.is_out_of_stock,
        coalesce(products.is_active, false) as is_active,

        ---------- dates
        as_of_stock.inventory_date as as_of_date

    from as_of_stock
    left join products
        on as_of_stock.product_id = products.product_id
    left join recent_demand
        on as_of_stock.product_id = recent_demand.product_id
    where as_of_stock.is_at_or_below_reorder_point

)

select * from final
