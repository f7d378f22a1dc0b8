{#
    Category revenue per period ('week' or 'month') with growth over the previous period.
    Every period from the first order to the as-of date x every category is present, so a
    period without sales is a zero and growth compares neighbouring periods.
    growth = (this - previous) / previous; null when the previous period had none.
#}
{% macro category_revenue_by_period(period) -%}
with

daily_sales as (

    select * from {{ ref('int_category_sales_daily') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

periods as (

    select distinct calendar.{{ period }}_start_date as period_start_date
    from calendar
    cross join reporting_dates
    where calendar.date_day <= reporting_dates.as_of_date

),

categories as (

    select distinct daily_sales.category
    from daily_sales

),

sales as (

    select
        date_trunc('{{ period }}', daily_sales.order_date)::date as period_start_date,
        daily_sales.category,
        sum(daily_sales.order_count) as order_count,
        sum(daily_sales.unit_count) as unit_count,
        sum(daily_sales.gross_revenue) as gross_revenue,
        sum(daily_sales.net_revenue) as net_revenue
    from daily_sales
    cross join reporting_dates
    where daily_sales.order_date <= reporting_dates.as_of_date
    group by 1, 2

),

filled as (

    select
        periods.period_start_date,
        categories.category,
        coalesce(sales.order_count, 0) as order_count,
        coalesce(sales.unit_count, 0) as unit_count,
        coalesce(sales.gross_revenue, 0) as gross_revenue,
        coalesce(sales.net_revenue, 0) as net_revenue
    from periods
    cross join categories
    left join sales
        on periods.period_start_date = sales.period_start_date
        and categories.category = sales.category

),

with_previous as (

    select
        *,
        lag(net_revenue) over (
            partition by category order by period_start_date asc
        ) as previous_net_revenue
    from filled

),

final as (

    select
        ---------- dates
        period_start_date as {{ period }}_start_date,

        ---------- strings
        category,

        ---------- numerics
        order_count::integer as order_count,
        unit_count::integer as unit_count,
        gross_revenue::numeric(14, 2) as gross_revenue,
        net_revenue::numeric(14, 2) as net_revenue,
        previous_net_revenue::numeric(14, 2) as previous_{{ period }}_net_revenue,
        round(
            (net_revenue - previous_net_revenue) / nullif(previous_net_revenue, 0), 4
        )::numeric(12, 4) as {{ 'wow' if period == 'week' else 'mom' }}_growth_rate,
        round(
            net_revenue / nullif(sum(net_revenue) over (partition by period_start_date), 0), 4
        )::numeric(7, 4) as share_of_net_revenue

    from with_previous

)

select * from final
{%- endmacro %}
