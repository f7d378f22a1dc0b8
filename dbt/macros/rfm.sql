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
        when {{ r_score }} <= 2 and {{ f_score }} = 5 then 'Can''t Lose Them'
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
    R, F and M quintiles of the customers who bought on or before `as_of` (a SQL date
    expression). Orders count unless cancelled; monetary is net revenue (returns count 0).
    ntile(5) with customer_id as the tie-breaker makes equal values split deterministically.
#}
{% macro rfm_scores(orders_relation, as_of) -%}
    select
        customer_id,
        {{ as_of }} as as_of_date,
        ({{ as_of }} - max(order_date))::integer as recency_days,
        count(*)::integer as frequency,
        sum(net_revenue)::numeric(14, 2) as monetary,
        max(order_date) as last_order_date,
        ntile(5) over (order by max(order_date) asc, customer_id asc) as r_score,
        ntile(5) over (order by count(*) asc, customer_id asc) as f_score,
        ntile(5) over (order by sum(net_revenue) asc, customer_id asc) as m_score
    from {{ orders_relation }}
    where
        not is_cancelled
        and order_date <= {{ as_of }}
    group by customer_id
{%- endmacro %}
