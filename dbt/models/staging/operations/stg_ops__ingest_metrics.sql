with

source as (

    select * from {{ source('ingest', 'metrics') }}

),

renamed as (

    select
        ---------- ids
        metric_id,

        ---------- strings
        component,
        instance_id,

        ---------- numerics
        rows_loaded,
        dead_letters as dead_letter_count,
        batch_ms as batch_duration_ms,
        rows_per_second,
        lag_ms,
        consumer_lag,

        ---------- timestamps
        recorded_at

    from source

)

select * from renamed
