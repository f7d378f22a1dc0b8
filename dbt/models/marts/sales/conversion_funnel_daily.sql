{#
    The conversion funnel per day of session start: sessions, and how many reached a
    product view, an add to cart, a checkout and an order, with step and overall rates.
    Stages are cumulative (a session that ordered without a logged cart still counts at
    every earlier stage), so each stage is at most the one before.
#}
with

sessions as (

    select * from {{ ref('fct_sessions') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

staged as (

    select
        session_date,
        has_order_placed as reached_order,
        has_order_placed or has_checkout_started as reached_checkout,
        has_order_placed or has_checkout_started or has_add_to_cart as reached_cart,
        has_order_placed or has_checkout_started or has_add_to_cart or has_product_view
            as reached_product_view
    from sessions

),

per_day as (

    select
        session_date,
        count(*) as sessions,
        count(*) filter (where reached_product_view) as product_view_sessions,
        count(*) filter (where reached_cart) as add_to_cart_sessions,
        count(*) filter (where reached_checkout) as checkout_sessions,
        count(*) filter (where reached_order) as order_sessions
    from staged
    group by 1

),

final as (

    select
        ---------- dates
        calendar.date_day as session_date,

        ---------- numerics
        coalesce(per_day.sessions, 0)::integer as session_count,
        coalesce(per_day.product_view_sessions, 0)::integer as product_view_sessions,
        coalesce(per_day.add_to_cart_sessions, 0)::integer as add_to_cart_sessions,
        coalesce(per_day.checkout_sessions, 0)::integer as checkout_sessions,
        coalesce(per_day.order_sessions, 0)::integer as order_sessions,
        {{ safe_rate('per_day.product_view_sessions', 'per_day.sessions') }} as view_rate,
        {{ safe_rate('per_day.add_to_cart_sessions', 'per_day.product_view_sessions') }}
            as view_to_cart_rate,
        {{ safe_rate('per_day.checkout_sessions', 'per_day.add_to_cart_sessions') }}
            as cart_to_checkout_rate,
        {{ safe_rate('per_day.order_sessions', 'per_day.checkout_sessions') }}
            as checkout_to_order_rate,
        {{ safe_rate('per_day.order_sessions', 'per_day.sessions') }} as conversion_rate

    from calendar
    cross join reporting_dates
    left join per_day
        on calendar.date_day = per_day.session_date
    where calendar.date_day <= reporting_dates.as_of_date

)

select * from final
