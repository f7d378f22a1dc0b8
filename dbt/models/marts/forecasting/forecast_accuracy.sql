{#
    How good each forecaster has been, per model, horizon and category (product rows, in-stock
    days only), plus category 'All' for every product together:
      WAPE = sum |forecast - actual| / sum actual   (the headline: errors weighted by volume)
      MAE  = mean |forecast - actual| per product day
      bias = sum (expected - actual) / sum actual   (> 0: forecasts run high)
    forecast_units is the median of a day's demand, which absolute error asks for; bias is of the
    mean (expected_units), since the median of a slow seller is 0 whatever the model knows.
      coverage = share of actuals inside the prediction interval (nominal: interval_level)
#}
with

demand_vs_actual as (

    select * from {{ ref('demand_vs_actual') }}
    where grain = 'product' and not is_censored

),

scored as (

    select
        model,
        horizon_days,
        coalesce(category, 'All') as category,
        count(*)::integer as product_days,
        sum(actual_units)::numeric(16, 3) as actual_units,
        sum(forecast_units)::numeric(16, 3) as forecast_units,
        sum(expected_units)::numeric(16, 3) as expected_units,
        sum(absolute_error_units) / nullif(sum(actual_units), 0) as wape,
        avg(absolute_error_units) as mae,
        sum(expected_error_units) / nullif(sum(actual_units), 0) as bias,
        avg(case when is_within_interval then 1.0 else 0.0 end) as coverage,
        max(interval_level) as interval_level
    from demand_vs_actual
    group by grouping sets ((model, horizon_days, category), (model, horizon_days))

),

final as (

    select
        ---------- strings
        model,
        category,

        ---------- numerics
        horizon_days,
        product_days,
        actual_units,
        forecast_units,
        expected_units,
        round(wape, 4)::numeric(10, 4) as wape,
        round(mae, 4)::numeric(12, 4) as mae,
        round(bias, 4)::numeric(10, 4) as bias,
        round(coverage, 4)::numeric(6, 4) as coverage,
        interval_level

    from scored

)

select * from final
