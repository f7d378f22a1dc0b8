{#
    Monthly acquisition cohorts in long format: one row per (cohort month, months since
    first order) up to the as-of month, zero cells included. A cohort is the customers
    (the person: customer_id, whatever their e-mail became) whose first non-cancelled order
    fell in that month; active = customers of the cohort with a non-cancelled order in the
    offset month.
#}
{{ config(tags = ['whole_history']) }}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

valid_orders as (

    select
        orders.customer_id,
        date_trunc('month', orders.order_date)::date as order_month,
        orders.net_revenue
    from orders
    cross join reporting_dates
    where
        not orders.is_cancelled
        and orders.order_date <= reporting_dates.as_of_date

),

first_months as (

    select
        customer_id,
        min(order_month) as cohort_month
    from valid_orders
    group by 1

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_size
    from first_months
    group by 1

),

activity as (

    select
        first_months.cohort_month,
        {{ months_between('first_months.cohort_month', 'valid_orders.order_month') }}
            as months_since_first_order,
        count(distinct valid_orders.customer_id) as active_customers,
        sum(valid_orders.net_revenue) as net_revenue
    from valid_orders
    inner join first_months
        on valid_orders.customer_id = first_months.customer_id
    group by 1, 2

),

grid as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        {{ integers_from_to(
            0,
            months_between('cohort_sizes.cohort_month', 'reporting_dates.as_of_date'),
        ) }} as months_since_first_order
    from cohort_sizes
    cross join reporting_dates

),

final as (

    select
        ---------- dates
        grid.cohort_month,
        {{ add_months('grid.cohort_month', 'grid.months_since_first_order') }}
            as activity_month,

        ---------- numerics
        grid.months_since_first_order::integer as months_since_first_order,
        grid.cohort_size::integer as cohort_size,
        coalesce(activity.active_customers, 0)::integer as active_customers,
        round(
            coalesce(activity.active_customers, 0)::numeric / grid.cohort_size, 4
        )::numeric(7, 4) as retention_rate,
        coalesce(activity.net_revenue, 0)::numeric(14, 2) as net_revenue,
        sum(coalesce(activity.net_revenue, 0)) over (
            partition by grid.cohort_month
            order by grid.months_since_first_order asc
        )::numeric(14, 2) as cumulative_net_revenue

    from grid
    left join activity
        on
            grid.cohort_month = activity.cohort_month
            and grid.months_since_first_order = activity.months_since_first_order

)

select * from final
