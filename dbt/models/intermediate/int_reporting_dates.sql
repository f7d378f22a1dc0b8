{#
    One row: the reporting "today" (var as_of_date, else the latest order date) and the
    dates the marts derive from it.
#}
with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

bounds as (

    select
        {{ as_of_date_sql(ref('stg_shop__orders')) }} as as_of_date,
        {{ utc_date('min(placed_at)') }} as first_order_date
    from orders

),

derived as (

    select
        as_of_date,
        (as_of_date - {{ var('rfm_previous_period_days') }})::date
            as previous_period_as_of_date,
        coalesce(first_order_date, as_of_date) as first_order_date
    from bounds

)

select * from derived
