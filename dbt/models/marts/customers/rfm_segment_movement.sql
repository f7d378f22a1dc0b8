{#
    How customers moved between RFM segments since the previous period (the as-of date
    minus var rfm_previous_period_days): one row per (previous segment, current segment)
    pair with customers. Customers who had not bought yet by the previous date come from
    '(new customer)'.
#}
{{ config(tags = ['whole_history']) }}
with

scores as (

    select * from {{ ref('int_customer_rfm_scores') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

current_period as (

    select
        customer_id,
        rfm_segment
    from scores
    where rfm_period = 'current'

),

previous_period as (

    select
        customer_id,
        rfm_segment
    from scores
    where rfm_period = 'previous'

),

moves as (

    select
        coalesce(previous_period.rfm_segment, '(new customer)') as previous_segment,
        current_period.rfm_segment as current_segment,
        count(*) as customer_count
    from current_period
    left join previous_period
        on current_period.customer_id = previous_period.customer_id
    group by 1, 2

),

final as (

    select
        ---------- strings
        moves.previous_segment,
        moves.current_segment,

        ---------- numerics
        moves.customer_count::integer as customer_count,

        ---------- booleans
        moves.previous_segment <> moves.current_segment as has_moved,

        ---------- dates
        reporting_dates.previous_period_as_of_date,
        reporting_dates.as_of_date

    from moves
    cross join reporting_dates

)

select * from final
