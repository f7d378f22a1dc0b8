{#
    RFM is a true partition of the buying customers: every customer with a non-cancelled
    order on or before the as-of date has exactly one segment, no one else has one, and the
    movement mart accounts for the same customers.
#}
{{ config(tags = ['whole_history']) }}
with

segments as (

    select * from {{ ref('customer_rfm_segments') }}

),

movement as (

    select * from {{ ref('rfm_segment_movement') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

buying_customers as (

    select distinct orders.customer_id
    from orders
    cross join reporting_dates
    where not orders.is_cancelled and orders.order_date <= reporting_dates.as_of_date

),

missing_or_extra as (

    select
        coalesce(buying_customers.customer_id, segments.customer_id) as customer_id,
        case
            when segments.customer_id is null then 'buying customer without a segment'
            when segments.rfm_segment is null then 'customer with a null segment'
            else 'segmented customer who is not a buying customer'
        end as problem
    from buying_customers
    full outer join segments
        on buying_customers.customer_id = segments.customer_id
    where
        segments.customer_id is null
        or buying_customers.customer_id is null
        or segments.rfm_segment is null

),

movement_total as (

    select
        null::bigint as customer_id,
        'movement counts ' || {{ as_text("coalesce(sum(customer_count), 0)") }}
        || ' customers, segments ' || {{ as_text("(select count(*) from segments)") }} as problem
    from movement
    having coalesce(sum(customer_count), 0) <> (select count(*) from segments)

)

select * from missing_or_extra
union all
select * from movement_total
