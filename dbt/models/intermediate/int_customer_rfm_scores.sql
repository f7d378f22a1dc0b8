{#
    RFM scores of every buying customer at two moments: the as-of date (period current)
    and rfm_previous_period_days earlier (period previous), for segments and movement.

    A table, not a view: two marts and several tests read it, and as a view each of them
    scored every customer again.
#}
{{ config(materialized = 'table', tags = ['whole_history']) }}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

current_scores as (

    {{ rfm_scores('orders', '(select as_of_date from reporting_dates)') }}

),

previous_scores as (

    {{ rfm_scores('orders', '(select previous_period_as_of_date from reporting_dates)') }}

),

both_periods as (

    select
        'current' as rfm_period,
        *
    from current_scores
    union all
    select
        'previous' as rfm_period,
        *
    from previous_scores

),

segmented as (

    select
        rfm_period,
        customer_id,
        as_of_date,
        recency_days,
        frequency,
        monetary,
        last_order_date,
        r_score::integer as r_score,
        f_score::integer as f_score,
        m_score::integer as m_score,
        {{ as_text('r_score') }} || {{ as_text('f_score') }} || {{ as_text('m_score') }}
            as rfm_cell,
        {{ rfm_segment('r_score', 'f_score') }} as rfm_segment
    from both_periods

)

select * from segmented
