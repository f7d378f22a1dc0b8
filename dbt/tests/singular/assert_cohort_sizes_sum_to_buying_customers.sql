{#
    Every buying customer (a non-cancelled order on or before the as-of date) belongs to
    exactly one cohort: the month-0 cohort sizes add up to the number of buying customers,
    and each cohort's size is the same on every row of the cohort.
#}
{{ config(tags = ['whole_history']) }}
with

cohorts as (

    select * from {{ ref('customer_cohorts_monthly') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

buying_customers as (

    select count(distinct orders.customer_id) as customer_count
    from orders
    cross join reporting_dates
    where not orders.is_cancelled and orders.order_date <= reporting_dates.as_of_date

),

cohort_total as (

    select coalesce(sum(cohort_size), 0) as customer_count
    from cohorts
    where months_since_first_order = 0

),

inconsistent_sizes as (

    select cohort_month
    from cohorts
    group by 1
    having count(distinct cohort_size) > 1

)

select
    'total' as failing_key,
    buying_customers.customer_count as expected,
    cohort_total.customer_count as actual
from buying_customers
cross join cohort_total
where buying_customers.customer_count <> cohort_total.customer_count

union all

select
    'cohort ' || {{ as_text("cohort_month") }} as failing_key,
    null as expected,
    null as actual
from inconsistent_sizes
