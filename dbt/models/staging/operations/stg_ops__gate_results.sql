with

source as (

    select * from {{ source('ops', 'gate_results') }}

),

renamed as (

    select
        ---------- ids
        run_id::text as run_id,

        ---------- strings
        gate as gate_name,

        ---------- numerics
        evaluated as expectations_evaluated,
        failed as expectations_failed,

        ---------- booleans
        success as is_success,

        ---------- timestamps
        checked_at

    from source

)

select * from renamed
