{#
    RFM segment of an R x F cell (scores 1-5, 5 = most recent / most frequent). The 25 cells
    are a true partition into 11 segments, so every scored customer gets exactly one:

              F1               F2                 F3                 F4          F5
      R5  New              Potential Loyalists Potential Loyalists Champions   Champions
      R4  Promising        Potential Loyalists Potential Loyalists Loyal       Loyal
      R3  About to Sleep   About to Sleep      Need Attention      Loyal       Loyal
      R2  Hibernating      Hibernating         At Risk             At Risk     Can't Lose Them
      R1  Lost             Hibernating         At Risk             At Risk     Can't Lose Them
#}
{% macro rfm_segment(r_score, f_score) -%}
    case
        when {{ r_score }} = 5 and {{ f_score }} = 1 then 'New'
        when {{ r_score }} = 5 and {{ f_score }} >= 4 then 'Champions'
        when {{ r_score }} >= 4 and {{ f_score }} between 2 and 3 then 'Potential Loyalists'
        when {{ r_score }} = 4 and {{ f_score }} = 1 then 'Promising'
        when {{ r_score }} between 3 and 4 and {{ f_score }} >= 4 then 'Loyal'
        when {{ r_score }} = 3 and {{ f_score }} = 3 then 'Need Attention'
        when {{ r_score }} = 3 and {{ f_score }} <= 2 then 'About to Sleep'
        when {{ r_score }} <= 2 and {{ f_score }} = 5 then {{ sql_text_literal("Can't Lose Them") }}
        when {{ r_score }} <= 2 and {{ f_score }} between 3 and 4 then 'At Risk'
        when {{ r_score }} = 1 and {{ f_score }} = 1 then 'Lost'
        when {{ r_score }} <= 2 and {{ f_score }} <= 2 then 'Hibernating'
    end
{%- endmacro %}

{% macro rfm_segment_names() -%}
    {{ return([
        'Champions', 'Loyal', 'Potential Loyalists', 'New', 'Promising', 'Need Attention',
        'About to Sleep', 'At Risk', 'Can\'t Lose Them', 'Hibernating', 'Lost',
    ]) }}
{%- endmacro %}

{#
    R, F and M scores of the customers who bought on or before `as_of` (a SQL date expression).
    Orders count unless cancelled; monetary is net revenue (returns count 0). Scores are a
    function of the customer's own values, never of customer_id: equal values, equal scores.

    R and M: the quintile reached by the share of customers whose value is at most the
    customer's (cume_dist: ceil(5 x share)), in integers so no float rounding moves a
    boundary. A group of equal values gets the score of its highest member, so the most
    recent customers are always R5 and the biggest spenders M5.
    F: fixed thresholds (var rfm_frequency_thresholds, the fewest orders for F2..F5; default
    2, 3, 4, 5 orders), because frequency is a small count with huge ties: when most
    customers bought once, quantiles of it are meaningless (ntile split the one-time buyers
    by customer id; cume_dist would make them all F5). A one-time buyer is always F1.
    Worked example in docs/dbt.md.
#}
{% macro rfm_scores(orders_relation, as_of) -%}
    {%- set thresholds = var('rfm_frequency_thresholds') -%}
    {%- if thresholds | length != 4 -%}
        {{ exceptions.raise_compiler_error("var rfm_frequency_thresholds must list 4 order counts (the fewest orders for F2, F3, F4, F5), got " ~ thresholds) }}
    {%- endif -%}
    select
        customer_id,
        {{ as_of }} as as_of_date,
        ({{ as_of }} - max(order_date))::integer as recency_days,
        count(*)::integer as frequency,
        sum(net_revenue)::numeric(14, 2) as monetary,
        max(order_date) as last_order_date,
        {{ rfm_value_quintile('max(order_date)') }} as r_score,
        case
            when count(*) >= {{ thresholds[3] }} then 5
            when count(*) >= {{ thresholds[2] }} then 4
            when count(*) >= {{ thresholds[1] }} then 3
            when count(*) >= {{ thresholds[0] }} then 2
            else 1
        end as f_score,
        {{ rfm_value_quintile('sum(net_revenue)') }} as m_score
    from {{ orders_relation }}
    where
        not is_cancelled
        and order_date <= {{ as_of }}
    group by customer_id
{%- endmacro %}

{#
    ceil(5 x cume_dist) of `value` (ascending) over the grouped rows, in integer arithmetic:
    the default window frame of an ordered window includes the current row's peers, so the
    count is the customers whose value is at most this one's.
#}
{% macro rfm_value_quintile(value) -%}
    {{ integer_divide('5 * count(*) over (order by ' ~ value ~ ') + count(*) over () - 1', 'count(*) over ()') }}
{%- endmacro %}
