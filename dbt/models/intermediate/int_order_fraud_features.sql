{#
    One row per order placed up to the as-of date: the fraud features measured on it, the
    points each one scores and the combined fraud score. suspected_fraud_orders keeps the
    orders whose score reaches var fraud_scoring.flag_score; the weights and thresholds are
    in var fraud_scoring (dbt_project.yml) and docs/fraud.md says why each has its value.

    Features (values kept, so an alert can say what fired and how strongly):
      card_country_count, card_customer_count, max_failures_in_10_min, failed_card_count:
                                what the order's payment attempts show, from
                                int_order_fraud_signals (kept incrementally: see there);
      total_percentile          percent_rank of the order total among all orders to the as-of
                                date (1 = the largest): "large" is relative to the shop itself,
                                so at most that share of any shop's orders can score for size;
      total_to_median_ratio     order total / median order total (shown in the reasons);
      account_age_minutes       minutes between the account's signup and the order.

    Rebuilt whole: the percentile and median move with every new order. That is one sort of
    the orders (about a second at 10x the shop); the payment windows, which cost 24-30 s at
    10x, are in int_order_fraud_signals. A table, not a view like the other intermediate
    models: its tests and suspected_fraud_orders read it.
#}
{{ config(materialized = 'table') }}
{%- set s = var('fraud_scoring') -%}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

signals as (

    select * from {{ ref('int_order_fraud_signals') }}

),

customers as (

    select * from {{ ref('dim_customers') }}
    where version_number = 1

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

orders_in_range as (

    -- Only the columns used below: this CTE is read twice and materialised.
    select
        orders.order_id,
        orders.customer_id,
        orders.total_amount,
        orders.placed_at,
        orders.order_date,
        orders.order_status
    from orders
    cross join reporting_dates
    where orders.order_date <= reporting_dates.as_of_date

),

median_total as (

    select percentile_cont(0.5) within group (order by total_amount) as median_order_total
    from orders_in_range

),

features as (

    select
        orders_in_range.order_id,
        orders_in_range.customer_id,
        orders_in_range.order_status,
        orders_in_range.total_amount,
        orders_in_range.order_date,
        orders_in_range.placed_at,
        coalesce(signals.card_country_count, 1) as card_country_count,
        coalesce(signals.card_customer_count, 1) as card_customer_count,
        coalesce(signals.max_failures_in_10_min, 0) as max_failures_in_10_min,
        coalesce(signals.failed_card_count, 0) as failed_card_count,
        round(
            (
                percent_rank() over (order by orders_in_range.total_amount)
            )::numeric,
            6
        ) as total_percentile,
        round(
            (orders_in_range.total_amount / nullif(median_total.median_order_total, 0))::numeric,
            2
        ) as total_to_median_ratio,
        floor(extract(epoch from orders_in_range.placed_at - customers.signed_up_at) / 60)::integer
            as account_age_minutes
    from orders_in_range
    cross join median_total
    left join customers
        on orders_in_range.customer_id = customers.customer_id
    left join signals
        on orders_in_range.order_id = signals.order_id

),

points as (

    -- Each feature scores the points of the highest threshold it reaches (var fraud_scoring).
    select
        *,
        case
            when card_country_count >= 3 then {{ s.card_countries_3_points }}
            when card_country_count >= 2 then {{ s.card_countries_2_points }}
            else 0
        end as card_country_points,
        case
            when card_customer_count >= 2 then {{ s.card_shared_by_accounts_points }}
            else 0
        end as card_customer_points,
        case
            when max_failures_in_10_min >= {{ s.failures_many }} then {{ s.failures_many_points }}
            when max_failures_in_10_min >= {{ s.failures_some }} then {{ s.failures_some_points }}
            else 0
        end as failure_points,
        case
            when
                max_failures_in_10_min >= {{ s.failures_some }}
                and failed_card_count >= {{ s.failed_cards }}
                then {{ s.failed_cards_points }}
            else 0
        end as failed_card_points,
        case
            when total_percentile >= 1 - {{ s.large_top_share }} then {{ s.large_top_points }}
            when total_percentile >= 1 - {{ s.large_share }} then {{ s.large_points }}
            else 0
        end as large_order_points,
        case
            when account_age_minutes < 60 then {{ s.account_under_1_hour_points }}
            when account_age_minutes < 1440 then {{ s.account_under_1_day_points }}
            else 0
        end as new_account_points
    from features

),

scored as (

    select
        *,
        (
            card_country_points + card_customer_points + failure_points + failed_card_points
            + large_order_points + new_account_points
        )::integer as fraud_score
    from points

)

select * from scored
