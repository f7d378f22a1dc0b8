with

source as (

    select * from {{ source('ops', 'run_steps') }}

),

renamed as (

    select
        ---------- ids
        run_id::text as run_id,

        ---------- strings
        step as step_name,
        status as step_status,
        output_tail,

        ---------- numerics
        attempt as attempt_number,

        ---------- timestamps
        started_at,
        finished_at

    from source

)

select * from renamed
