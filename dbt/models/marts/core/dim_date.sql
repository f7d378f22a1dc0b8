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

    select calendar_days.calendar_day::date as date_day
    from reporting_dates
    cross join lateral generate_series(
        date_trunc('month', reporting_dates.first_order_date)::date,
        (date_trunc('month', reporting_dates.as_of_date) + interval '1 month - 1 day')::date,
        interval '1 day'
    ) as calendar_days (calendar_day)

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
        extract(isodow from date_day)::integer as iso_day_of_week,
        extract(doy from date_day)::integer as day_of_year,

        ---------- strings
        to_char(date_day, 'YYYY-MM') as calendar_year_month,
        trim(to_char(date_day, 'Day')) as day_name,
        trim(to_char(date_day, 'Month')) as month_name,

        ---------- booleans
        extract(isodow from date_day) in (6, 7) as is_weekend

    from days

)

select * from final
