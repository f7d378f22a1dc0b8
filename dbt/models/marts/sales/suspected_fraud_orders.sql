{#
    Orders whose fraud score (int_order_fraud_features) reaches var fraud_scoring.flag_score,
    with the features that scored and their values in plain words. The three rule flags say
    which family of signals fired:
      1. card used from multiple countries: the order's card was seen from two or more IP
         countries within fraud_scoring.card_window_minutes of one of its attempts;
      2. large order on a new account: total in the shop's top fraud_scoring.large_share of
         orders on an account less than one day old;
      3. repeated payment failures: fraud_scoring.failures_some or more failed attempts on
         the order within 10 minutes.
#}
{%- set s = var('fraud_scoring') -%}
{%- set window = s.card_window_minutes ~ ' minutes' -%}
with

features as (

    select * from {{ ref('int_order_fraud_features') }}

),

flagged as (

    select * from features
    where fraud_score >= {{ s.flag_score }}

),

explained as (

    select
        *,
        card_country_count >= 2 as is_card_used_from_multiple_countries,
        large_order_points > 0 and new_account_points > 0 as is_large_order_on_new_account,
        max_failures_in_10_min >= {{ s.failures_some }} as has_repeated_payment_failures,
        -- One phrase per feature that scored, with its value and its points.
        concat_ws(
            '; ',
            case
                when card_country_points > 0
                    then format(
                        'card seen from %s IP countries within {{ window }} (+%s)',
                        card_country_count, card_country_points
                    )
            end,
            case
                when card_customer_points > 0
                    then format(
                        'card used by %s accounts within {{ window }} (+%s)',
                        card_customer_count, card_customer_points
                    )
            end,
            case
                when failure_points > 0
                    then format(
                        '%s failed payment attempts within 10 minutes (+%s)',
                        max_failures_in_10_min, failure_points
                    )
            end,
            case
                when failed_card_points > 0
                    then format(
                        'failed attempts with %s different cards (+%s)',
                        failed_card_count, failed_card_points
                    )
            end,
            case
                when large_order_points > 0
                    then format(
                        'total %s in the top %s %% of orders, %sx the median (+%s)',
                        total_amount,
                        case
                            when total_percentile >= 1 - {{ s.large_top_share }}
                                then {{ s.large_top_share * 100 }}
                            else {{ s.large_share * 100 }}
                        end,
                        round(total_to_median_ratio, 1),
                        large_order_points
                    )
            end,
            case
                when new_account_points > 0
                    then format(
                        'account %s old at order time (+%s)',
                        case
                            when account_age_minutes < 60 then account_age_minutes || ' minutes'
                            else floor(account_age_minutes / 60) || ' hours'
                        end,
                        new_account_points
                    )
            end
        ) as reasons
    from flagged

),

final as (

    select
        ---------- ids
        order_id,
        customer_id,

        ---------- strings
        order_status,
        reasons,

        ---------- numerics
        total_amount,
        (
            is_card_used_from_multiple_countries::integer
            + is_large_order_on_new_account::integer
            + has_repeated_payment_failures::integer
        )::integer as rules_triggered,
        fraud_score,
        card_country_count,
        card_customer_count,
        max_failures_in_10_min,
        failed_card_count,
        total_percentile,
        total_to_median_ratio,
        account_age_minutes,

        ---------- booleans
        is_card_used_from_multiple_countries,
        is_large_order_on_new_account,
        has_repeated_payment_failures,

        ---------- dates
        order_date,

        ---------- timestamps
        placed_at

    from explained

)

select * from final
