{#
    Repeat-purchase rate per month, cumulative to each month's end (capped at the as-of
    date): of the customers with at least one non-cancelled order so far, the share with
    two or more. Also the month's buyers and how many of them had bought before.
#}
{{ config(tags = ['whole_history']) }}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

calendar as (

    select * from {{ ref('dim_date') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

valid_orders as (

    select
        orders.customer_id,
        orders.order_date,
        date_trunc('month', orders.order_date)::date as order_month,
        row_number() over (
            partition by orders.customer_id
            order by orders.placed_at asc, orders.order_id asc
        ) as customer_order_number
    from orders
    cross join reporting_dates
    where
        not orders.is_cancelled
        and orders.order_date <= reporting_dates.as_of_date

),

months as (

    select distinct calendar.month_start_date as order_month
    from calendar
    cross join reporting_dates
    where calendar.date_day <= reporting_dates.as_of_date

),

milestones as (

    -- the month each customer became a buyer (1st order) and a repeat buyer (2nd order)
    select
        customer_id,
        min(order_month) filter (where customer_order_number = 1) as first_order_month,
        min(order_month) filter (where customer_order_number = 2) as second_order_month
    from valid_orders
    group by 1

),

monthly_buyers as (

    select
        valid_orders.order_month,
        count(distinct valid_orders.customer_id) as buying_customers,
        count(distinct valid_orders.customer_id) filter (
            where milestones.first_order_month < valid_orders.order_month
        ) as returning_customers
    from valid_orders
    inner join milestones
        on valid_orders.customer_id = milestones.customer_id
    group by 1

),

first_order_counts as (

    select
        first_order_month as order_month,
        count(*) as new_buying_customers
    from milestones
    group by 1

),

second_order_counts as (

    select
        second_order_month as order_month,
        count(*) as new_repeat_customers
    from milestones
    where second_order_month is not null
    group by 1

),

milestone_counts as (

    -- Buyers and repeat buyers gained per month; cumulative below sums them up to each month
    -- (counting all customers again for every month grew with months x customers).
    select
        months.order_month,
        coalesce(first_order_counts.new_buying_customers, 0) as new_buying_customers,
        coalesce(second_order_counts.new_repeat_customers, 0) as new_repeat_customers
    from months
    left join first_order_counts
        on months.order_month = first_order_counts.order_month
    left join second_order_counts
        on months.order_month = second_order_counts.order_month

),

cumulative as (

    select
        order_month,
        sum(new_buying_customers) over (
            order by order_month asc
            rows between unbounded preceding and current row
        ) as cumulative_buying_customers,
        sum(new_repeat_customers) over (
            order by order_month asc
            rows between unbounded preceding and current row
        ) as cumulative_repeat_customers
    from milestone_counts

),

final as (

    select
        ---------- dates
        cumulative.order_month,

        ---------- numerics
        coalesce(monthly_buyers.buying_customers, 0)::integer as buying_customers,
        coalesce(monthly_buyers.returning_customers, 0)::integer as returning_customers,
        cumulative.cumulative_buying_customers::integer as cumulative_buying_customers,
        cumulative.cumulative_repeat_customers::integer as cumulative_repeat_customers,
        round(
            cumulative.cumulative_repeat_customers::numeric
            / nullif(cumulative.cumulative_buying_customers, 0),
            4
        )::numeric(7, 4) as repeat_purchase_rate

    from cumulative
    left join monthly_buyers
        on cumulative.order_month = monthly_buyers.order_month

)

select * from final
