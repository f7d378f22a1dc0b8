{#
    Active products whose stock is expected to run out within the replenishment lead time
    (var stockout_lead_time_days), by the latest XGBoost forecast made on or before the as-of
    date: the day cumulative forecast demand first exceeds what is on hand. Days of cover =
    on hand / mean forecast daily demand over the forecast's 14 days. Demand here is the
    forecast's mean (expected_units), which adds up over days; its daily median (forecast_units)
    is 0 for a slow seller and would never run one out. One row per product at
    risk; the scheduler alerts each once per stock cycle (scheduler/jobs/alert-facts.ts).
#}
with

forecasts as (

    select * from {{ source('forecast', 'demand_forecast') }}
    where model = 'xgboost' and grain = 'product'

),

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

latest_run as (

    select max(forecasts.as_of_date) as forecast_as_of_date
    from forecasts
    cross join reporting_dates
    where forecasts.as_of_date <= reporting_dates.as_of_date

),

latest_forecasts as (

    select forecasts.*
    from forecasts
    inner join latest_run
        on forecasts.as_of_date = latest_run.forecast_as_of_date

),

stock as (

    select inventory_daily.*
    from inventory_daily
    inner join latest_run
        on inventory_daily.inventory_date = latest_run.forecast_as_of_date

),

last_restocks as (

    select
        inventory_daily.product_id,
        max(inventory_daily.inventory_date) as last_restocked_date
    from inventory_daily
    inner join latest_run
        on inventory_daily.inventory_date <= latest_run.forecast_as_of_date
    where inventory_daily.units_restocked > 0
    group by 1

),

cumulative as (

    select
        latest_forecasts.product_id,
        latest_forecasts.forecast_date,
        latest_forecasts.horizon_days,
        latest_forecasts.expected_units,
        sum(latest_forecasts.expected_units) over (
            partition by latest_forecasts.product_id
            order by latest_forecasts.horizon_days asc
        ) as cumulative_units
    from latest_forecasts

),

per_product as (

    select
        cumulative.product_id,
        avg(cumulative.expected_units) as forecast_daily_units,
        sum(cumulative.expected_units) filter (
            where cumulative.horizon_days <= {{ var('stockout_lead_time_days') }}
        ) as lead_time_units,
        min(cumulative.forecast_date) filter (
            where cumulative.cumulative_units > stock.quantity_on_hand
        ) as expected_stockout_date
    from cumulative
    inner join stock
        on cumulative.product_id = stock.product_id
    group by 1

),

final as (

    select
        ---------- ids
        per_product.product_id,

        ---------- strings
        products.sku,
        products.product_name,
        products.category,

        ---------- numerics
        stock.quantity_on_hand,
        stock.reorder_point,
        round(per_product.forecast_daily_units, 2)::numeric(12, 2) as forecast_daily_units,
        round(per_product.lead_time_units, 1)::numeric(12, 1) as lead_time_forecast_units,
        {{ var('stockout_lead_time_days') }}::integer as lead_time_days,
        round(
            greatest(stock.quantity_on_hand, 0) / nullif(per_product.forecast_daily_units, 0), 1
        )::numeric(10, 1) as days_of_cover,

        ---------- booleans
        stock.is_at_or_below_reorder_point,

        ---------- dates
        per_product.expected_stockout_date,
        stock.inventory_date as as_of_date,
        last_restocks.last_restocked_date

    from per_product
    inner join stock
        on per_product.product_id = stock.product_id
    inner join products
        on per_product.product_id = products.product_id
    left join last_restocks
        on per_product.product_id = last_restocks.product_id
    where
        products.is_active
        and per_product.expected_stockout_date is not null
        and per_product.expected_stockout_date
        <= stock.inventory_date + {{ var('stockout_lead_time_days') }}

)

select * from final
