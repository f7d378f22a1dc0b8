with

source as (

    select * from {{ source('ops', 'runs') }}

),

renamed as (

    select
        ---------- ids
        run_id::text as run_id,

        ---------- strings
        job as job_name,
        trigger as run_trigger,
        status as run_status,
        error as error_message,

        ---------- dates
        business_date,

        ---------- timestamps
        started_at,
        finished_at

    from source

)

select * from renamed
