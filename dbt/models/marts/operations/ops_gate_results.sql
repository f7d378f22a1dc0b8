{# Great Expectations gate outcomes, one row per check, with the run they belong to. #}
with

gate_results as (

    select * from {{ ref('stg_ops__gate_results') }}

),

runs as (

    select * from {{ ref('stg_ops__runs') }}

),

final as (

    select
        ---------- ids
        gate_results.run_id,

        ---------- strings
        gate_results.gate_name,
        runs.job_name,

        ---------- numerics
        gate_results.expectations_evaluated::integer as expectations_evaluated,
        gate_results.expectations_failed::integer as expectations_failed,
        round(
            gate_results.expectations_failed::numeric
            / nullif(gate_results.expectations_evaluated, 0),
            4
        )::numeric(7, 4) as failure_rate,

        ---------- booleans
        gate_results.is_success,

        ---------- dates
        runs.business_date,

        ---------- timestamps
        gate_results.checked_at

    from gate_results
    left join runs
        on gate_results.run_id = runs.run_id

)

select * from final
