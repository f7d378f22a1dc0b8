{#
    RFM segment of every buying customer as of the as-of date: recency, frequency and
    monetary scores that depend on those values alone (macros/rfm.sql: cume_dist for R and
    M, fixed thresholds for F) and the R x F grid segment. Every customer with a non-cancelled order on or before the as-of
    date appears exactly once.
#}
{{ config(tags = ['whole_history']) }}
with

scores as (

    select * from {{ ref('int_customer_rfm_scores') }}

),

customers as (

    select * from {{ ref('dim_customers') }}
    where is_current

),

final as (

    select
        ---------- ids
        scores.customer_id,

        ---------- strings
        scores.rfm_segment,
        scores.rfm_cell,
        customers.country_code,

        ---------- numerics
        scores.recency_days,
        scores.frequency,
        scores.monetary,
        scores.r_score,
        scores.f_score,
        scores.m_score,

        ---------- dates
        scores.as_of_date,
        scores.last_order_date

    from scores
    left join customers
        on scores.customer_id = customers.customer_id
    where scores.rfm_period = 'current'

)

select * from final
