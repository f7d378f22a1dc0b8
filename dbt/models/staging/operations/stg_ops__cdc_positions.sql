with

source as (

    select * from {{ source('ingest', 'cdc_positions') }}

),

renamed as (

    select
        ---------- ids
        source_name,

        ---------- strings
        binlog_file,
        gtid,
        snapshot_id,
        snapshot_state,

        ---------- numerics
        binlog_position,

        ---------- timestamps
        updated_at

    from source

)

select * from renamed
