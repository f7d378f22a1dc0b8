{#
    Calendar from the first order's month to the end of the as-of month (var as_of_date,
    else the latest order), so every mart has its days, weeks and months even when nothing
    sold.
#}
with

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

days as (

    select
        {{ days_from_to(
            "date_trunc('month', reporting_dates.first_order_date)::date",
            month_last_day('reporting_dates.as_of_date'),
        ) }} as date_day
    from reporting_dates

),

final as (

    select
        ---------- dates
        date_day,
        date_trunc('week', date_day)::date as week_start_date,
        date_trunc('month', date_day)::date as month_start_date,
        date_trunc('quarter', date_day)::date as quarter_start_date,

        ---------- numerics
        extract(year from date_day)::integer as year_number,
        extract(quarter from date_day)::integer as quarter_number,
        extract(month from date_day)::integer as month_number,
        {{ date_field('isodow', 'date_day') }}::integer as iso_day_of_week,
        {{ date_field('doy', 'date_day') }}::integer as day_of_year,

        ---------- strings
        {{ date_field('year_month', 'date_day') }} as calendar_year_month,
        {{ date_field('day_name', 'date_day') }} as day_name,
        {{ date_field('month_name', 'date_day') }} as month_name,

        ---------- booleans
        {{ date_field('isodow', 'date_day') }} in (6, 7) as is_weekend

    from days

)

select * from final
