{#
    Every forecast whose day has come (forecast_date <= the as-of date), beside what then sold.
    Product rows compare with fct_inventory_daily's units; category rows with the units of the
    category's products that day. A product day is censored when the product was out of stock
    at the start or the end of it: what sold was what the shelf held, not the demand the model
    forecasts, so accuracy leaves those days out (forecast_accuracy).
    is_latest_forecast marks, per model, product or category and day, the forecast made last
    before the day: horizon 1 when the forecaster runs nightly, up to 7 days ahead when it ran
    weekly (npm run forecast -- --history, the demo). The dashboard's forecast-vs-actual chart
    and the report's Demand section read that one, so a day is never counted twice.
#}
with

forecasts as (

    select * from {{ source('forecast', 'demand_forecast') }}

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

product_days as (

    select
        inventory_daily.product_id,
        inventory_daily.inventory_date,
        inventory_daily.units_sold,
        inventory_daily.is_out_of_stock
        or coalesce(
            lag(inventory_daily.is_out_of_stock) over (
                partition by inventory_daily.product_id
                order by inventory_daily.inventory_date asc
            ),
            false
        ) as is_censored
    from inventory_daily

),

category_days as (

    select
        products.category,
        product_days.inventory_date,
        sum(product_days.units_sold) as units_sold,
        bool_or(product_days.is_censored) as is_censored
    from product_days
    inner join products
        on product_days.product_id = products.product_id
    group by 1, 2

),

due as (

    select forecasts.*
    from forecasts
    cross join reporting_dates
    where forecasts.forecast_date <= reporting_dates.as_of_date

),

compared as (

    select
        due.*,
        coalesce(product_days.units_sold, category_days.units_sold, 0)::numeric(14, 3)
            as actual_units,
        coalesce(product_days.is_censored, category_days.is_censored, false) as is_censored
    from due
    left join product_days
        on
            due.grain = 'product'
            and due.product_id = product_days.product_id
            and due.forecast_date = product_days.inventory_date
    left join category_days
        on
            due.grain = 'category'
            and due.category = category_days.category
            and due.forecast_date = category_days.inventory_date

),

final as (

    select
        ---------- ids
        product_id,

        ---------- strings
        model,
        grain,
        category,

        ---------- dates
        as_of_date,
        forecast_date,

        ---------- numerics
        horizon_days,
        forecast_units,
        expected_units,
        lower_units,
        upper_units,
        interval_level,
        actual_units,
        (forecast_units - actual_units)::numeric(14, 3) as error_units,
        abs(forecast_units - actual_units)::numeric(14, 3) as absolute_error_units,
        (expected_units - actual_units)::numeric(14, 3) as expected_error_units,

        ---------- booleans
        is_censored,
        actual_units between lower_units and upper_units as is_within_interval,
        row_number() over (
            partition by model, grain, category, product_id, forecast_date
            order by as_of_date desc
        ) = 1 as is_latest_forecast

    from compared

)

select * from final
