{#
    One row per order placed up to the as-of date: the fraud features measured on it, the
    points each one scores and the combined fraud score. suspected_fraud_orders keeps the
    orders whose score reaches var fraud_scoring.flag_score; the weights and thresholds are
    in var fraud_scoring (dbt_project.yml) and docs/fraud.md says why each has its value.

    Features (values kept, so an alert can say what fired and how strongly):
      card_country_count        IP countries seen on the order's card within
                                fraud_scoring.card_window_minutes (30) of one of its attempts
                                (1 when the card stayed in one country);
      card_customer_count       customer accounts that used that card in the same window;
      max_failures_in_10_min    failed attempts on the order within 10 minutes of each other;
      failed_card_count         distinct cards among the order's failed attempts;
      total_percentile          percent_rank of the order total among all orders to the as-of
                                date (1 = the largest): "large" is relative to the shop itself,
                                so at most that share of any shop's orders can score for size;
      total_to_median_ratio     order total / median order total (shown in the reasons);
      account_age_minutes       minutes between the account's signup and the order.

    A table, not a view like the other intermediate models: its tests (nine) and
    suspected_fraud_orders each computed the features over every order again, ten times a
    cycle; built once, they read the result.
#}
{{ config(materialized = 'table') }}
{%- set s = var('fraud_scoring') -%}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

payments as (

    -- Only the columns the features read: this CTE is read three times, so it is materialised.
    select
        fct_payments.payment_id,
        fct_payments.order_id,
        fct_payments.customer_id,
        fct_payments.card_fingerprint,
        fct_payments.ip_country_code,
        fct_payments.attempted_at,
        fct_payments.is_failed
    from {{ ref('fct_payments') }} as fct_payments

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

card_payments as (

    select
        payment_id,
        order_id,
        customer_id,
        card_fingerprint,
        ip_country_code,
        attempted_at,
        -- The window-long time bucket of the attempt (see card_payment_buckets).
        floor(
            extract(epoch from attempted_at) / {{ s.card_window_minutes * 60 }}
        )::bigint as time_bucket
    from payments
    where card_fingerprint is not null and ip_country_code is not null

),

cross_country_candidates as (

    -- Card payments with another IP country on the same card within the window either way
    -- (30 minutes: a ring's order whose payment failed has its attempts spread over 30).
    -- A range window keeps this linear in the card's payments; only these few candidates go
    -- through the self-join below that counts countries and accounts.
    select card_window.*
    from (
        select
            card_payments.*,
            min(card_payments.ip_country_code) over around_payment as first_country,
            max(card_payments.ip_country_code) over around_payment as last_country
        from card_payments
        window around_payment as (
            partition by card_payments.card_fingerprint
            order by card_payments.attempted_at
            range between interval '{{ s.card_window_minutes }} minutes' preceding
            and interval '{{ s.card_window_minutes }} minutes' following
        )
    ) as card_window
    where card_window.first_country <> card_window.last_country

),

card_payment_buckets as (

    -- Each card payment filed under its window-long time bucket and the buckets either side:
    -- a payment within the window of another lies in its bucket or the next, so exactly one of
    -- the three copies shares the other's bucket. The join below then pairs a candidate only
    -- with its card's payments of three buckets, not with all of them: a card used all year
    -- (the 10x world's shared cards hold 17k payments each) made that join grow with the
    -- square of its payments (382 s against 4 s at 1x).
    select
        card_payments.*,
        card_payments.time_bucket + shifts.shift as neighbour_bucket
    from card_payments
    cross join (values (-1), (0), (1)) as shifts (shift)

),

card_neighbourhoods as (

    -- Per order: the most countries and accounts its card showed within the window around one
    -- of its attempts.
    select
        per_payment.order_id,
        max(per_payment.countries) as card_country_count,
        max(per_payment.customers) as card_customer_count
    from (
        select
            candidate.payment_id,
            candidate.order_id,
            count(distinct neighbour.ip_country_code) as countries,
            count(distinct neighbour.customer_id) as customers
        from cross_country_candidates as candidate
        inner join card_payment_buckets as neighbour
            on
                candidate.card_fingerprint = neighbour.card_fingerprint
                and candidate.time_bucket = neighbour.neighbour_bucket
                and neighbour.attempted_at
                between candidate.attempted_at - interval '{{ s.card_window_minutes }} minutes'
                and candidate.attempted_at + interval '{{ s.card_window_minutes }} minutes'
        group by candidate.payment_id, candidate.order_id
    ) as per_payment
    group by per_payment.order_id

),

failure_bursts as (

    -- For each failed attempt, the failed attempts on the same order in the 10 minutes from
    -- it (it included). A range window keeps this linear; timestamps have microseconds, so up
    -- to 9:59.999999 after is "within 10 minutes", the end excluded.
    select
        burst_window.order_id,
        max(burst_window.failures_within_10_minutes) as max_failures_in_10_min
    from (
        select
            payments.order_id,
            count(*) over from_attempt as failures_within_10_minutes
        from payments
        where payments.is_failed
        window from_attempt as (
            partition by payments.order_id
            order by payments.attempted_at
            range between current row
            and interval '9 minutes 59.999999 seconds' following
        )
    ) as burst_window
    group by burst_window.order_id

),

failed_cards as (

    select
        order_id,
        count(distinct card_fingerprint) as failed_card_count
    from payments
    where is_failed
    group by order_id

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
        coalesce(card_neighbourhoods.card_country_count, 1)::integer as card_country_count,
        coalesce(card_neighbourhoods.card_customer_count, 1)::integer as card_customer_count,
        coalesce(failure_bursts.max_failures_in_10_min, 0)::integer as max_failures_in_10_min,
        coalesce(failed_cards.failed_card_count, 0)::integer as failed_card_count,
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
    left join card_neighbourhoods
        on orders_in_range.order_id = card_neighbourhoods.order_id
    left join failure_bursts
        on orders_in_range.order_id = failure_bursts.order_id
    left join failed_cards
        on orders_in_range.order_id = failed_cards.order_id

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
