{# The scheduler's run ledger: one row per run with its duration and step outcomes. #}
with

runs as (

    select * from {{ ref('stg_ops__runs') }}

),

run_steps as (

    select * from {{ ref('stg_ops__run_steps') }}

),

steps_per_run as (

    select
        run_id,
        count(distinct step_name) as step_count,
        count(*) as attempt_count,
        count(*) filter (where step_status = 'failed') as failed_attempt_count,
        string_agg(distinct step_name, ', ') filter (where step_status = 'failed')
            as failed_steps
    from run_steps
    group by 1

),

final as (

    select
        ---------- ids
        runs.run_id,

        ---------- strings
        runs.job_name,
        runs.run_trigger,
        runs.run_status,
        runs.error_message,
        steps_per_run.failed_steps,

        ---------- numerics
        round(extract(epoch from runs.finished_at - runs.started_at)::numeric, 3)::numeric(14, 3)
            as duration_seconds,
        coalesce(steps_per_run.step_count, 0)::integer as step_count,
        coalesce(steps_per_run.attempt_count, 0)::integer as attempt_count,
        coalesce(steps_per_run.failed_attempt_count, 0)::integer as failed_attempt_count,

        ---------- dates
        runs.business_date,

        ---------- timestamps
        runs.started_at,
        runs.finished_at

    from runs
    left join steps_per_run
        on runs.run_id = steps_per_run.run_id

)

select * from final
