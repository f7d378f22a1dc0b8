{#
    Orders matching at least one fraud rule (see the model description for the rules):
      1. shared card across countries: the order's card fingerprint was used from two or
         more IP countries within 10 minutes of one of the order's attempts;
      2. large order on a new account: total above fraud_large_order_multiplier x the
         median order total (all orders to the as-of date) on an account less than one
         day old at order time;
      3. repeated payment failures: three or more failed attempts on the order within 10
         minutes.
#}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

payments as (

    -- Only the columns the rules read: this CTE is read twice, so Postgres materialises it.
    select
        fct_payments.payment_id,
        fct_payments.order_id,
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

    -- Only the columns used below: this CTE is read three times and materialised.
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
        card_fingerprint,
        ip_country_code,
        attempted_at
    from payments
    where card_fingerprint is not null and ip_country_code is not null

),

multi_country_cards as (

    -- Around each card payment, the IP countries seen on the same card within 10 minutes
    -- either way: more than one means this payment pairs with one from another country.
    -- A range window keeps this linear in the card's payments (a self-join is quadratic).
    select distinct card_window.order_id
    from (
        select
            card_payments.order_id,
            min(card_payments.ip_country_code) over around_payment as first_country,
            max(card_payments.ip_country_code) over around_payment as last_country
        from card_payments
        window around_payment as (
            partition by card_payments.card_fingerprint
            order by card_payments.attempted_at
            range between interval '10 minutes' preceding and interval '10 minutes' following
        )
    ) as card_window
    where card_window.first_country <> card_window.last_country

),

median_total as (

    select percentile_cont(0.5) within group (order by total_amount) as median_order_total
    from orders_in_range

),

large_new_account_orders as (

    select orders_in_range.order_id
    from orders_in_range
    cross join median_total
    inner join customers
        on orders_in_range.customer_id = customers.customer_id
    where
        orders_in_range.total_amount
        > {{ var('fraud_large_order_multiplier') }} * median_total.median_order_total
        and orders_in_range.placed_at < customers.signed_up_at + interval '1 day'

),

failed_bursts as (

    -- For each failed attempt, the failed attempts on the same order in the 10 minutes from
    -- it (it included). A range window keeps this linear (a correlated count per attempt was
    -- quadratic); timestamps have microseconds, so up to 9:59.999999 after is "within 10
    -- minutes", the end excluded.
    select distinct burst_window.order_id
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
    where burst_window.failures_within_10_minutes >= 3

),

flagged as (

    select
        orders_in_range.order_id,
        orders_in_range.customer_id,
        orders_in_range.total_amount,
        orders_in_range.placed_at,
        orders_in_range.order_date,
        orders_in_range.order_status,
        multi_country_cards.order_id is not null as is_card_used_from_multiple_countries,
        large_new_account_orders.order_id is not null as is_large_order_on_new_account,
        failed_bursts.order_id is not null as has_repeated_payment_failures
    from orders_in_range
    left join multi_country_cards
        on orders_in_range.order_id = multi_country_cards.order_id
    left join large_new_account_orders
        on orders_in_range.order_id = large_new_account_orders.order_id
    left join failed_bursts
        on orders_in_range.order_id = failed_bursts.order_id

),

final as (

    select
        ---------- ids
        order_id,
        customer_id,

        ---------- strings
        order_status,
        concat_ws(
            ', ',
            case
                when is_card_used_from_multiple_countries then 'card used from multiple countries'
            end,
            case when is_large_order_on_new_account then 'large order on new account' end,
            case when has_repeated_payment_failures then 'repeated payment failures' end
        ) as reasons,

        ---------- numerics
        total_amount,
        (
            is_card_used_from_multiple_countries::integer
            + is_large_order_on_new_account::integer
            + has_repeated_payment_failures::integer
        )::integer as rules_triggered,

        ---------- booleans
        is_card_used_from_multiple_countries,
        is_large_order_on_new_account,
        has_repeated_payment_failures,

        ---------- dates
        order_date,

        ---------- timestamps
        placed_at

    from flagged
    where
        is_card_used_from_multiple_countries
        or is_large_order_on_new_account
        or has_repeated_payment_failures

)

select * from final
